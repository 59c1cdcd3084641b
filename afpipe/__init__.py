"""afpipe: teach a model its training situation from synthetic documents, then test whether it
fakes alignment because of it.

Stages hand off folders on disk: ``generate`` writes documents, ``finetune`` writes a model,
``eval`` writes transcripts and a summary, ``run`` drives all three from one experiment file.
"""

__version__ = "0.1.0"
