"""Attention inside each packed document: one causal attention call per document, no mask.

A packed sequence holds several documents and each attends only to itself (see data.py). Given
as a block-diagonal mask, attention computes every score of the ``L x L`` square and discards the
ones across documents: CPU kernels cannot skip masked blocks, nor the upper triangle once a mask
is given. With documents of a few hundred tokens in 1,024 slots, most of that work is thrown
away. Here the position ids, which restart at 0 at each document, cut every row into its
documents, and each document is one causal ``scaled_dot_product_attention`` over its own tokens.
The result is the same; the work is the sum of the documents' squares, halved.

The recipe loads its model with this attention (``attn_implementation=DOCUMENT_ATTENTION``); no
mask is built for it, so the model must always be given ``position_ids`` (the recipe always does).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DOCUMENT_ATTENTION = "afpipe_documents"


def document_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    position_ids: torch.Tensor | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """transformers' attention interface: (batch, heads, length, dim) in, (batch, length, heads, dim) out."""
    batch, _, length, _ = query.shape
    if position_ids is None or key.shape[2] != length:
        raise ValueError("document attention needs position_ids and no key/value cache")
    gqa = getattr(module, "num_key_value_groups", 1) > 1
    rows = []
    for row, positions in enumerate(position_ids.expand(batch, -1).tolist()):
        starts = [i for i, p in enumerate(positions) if p == 0]
        if not starts or starts[0] != 0:
            starts.insert(0, 0)
        bounds = zip(starts, starts[1:] + [length])
        rows.append(torch.cat([
            F.scaled_dot_product_attention(
                query[row : row + 1, :, a:b], key[row : row + 1, :, a:b], value[row : row + 1, :, a:b],
                dropout_p=dropout, is_causal=True, scale=scaling, enable_gqa=gqa,
            )
            for a, b in bounds
        ], dim=2))
    return torch.cat(rows).transpose(1, 2).contiguous(), None


def register() -> str:
    """Make ``DOCUMENT_ATTENTION`` a name transformers accepts as ``attn_implementation``."""
    from transformers import AttentionInterface

    AttentionInterface.register(DOCUMENT_ATTENTION, document_attention)
    return DOCUMENT_ATTENTION
