"""Text-model clients shared by every stage (document writing, evaluation, judging).

``base`` holds the interface; each backend lives in its own module and is imported only when
used, so that choosing the Anthropic API never imports torch and vice versa.
"""

from afpipe.clients.base import ChatRequest, Completion, Message, TextModel, Usage

__all__ = ["ChatRequest", "Completion", "Message", "TextModel", "Usage"]
