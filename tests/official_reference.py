"""A straightforward re-implementation of the official MotionCLIP model and data formulas, for tests only.

Written from reading GuyTevet/MotionCLIP (`src/models/architectures/transformer.py`, `src/models/modeltype/
motionclip.py`, `src/datasets/dataset.py::_load`, `src/utils/rotation_conversions.py`): seq-first `nn.Transformer*`
layers, mu/sigma query tokens, padding masks, `z[None]` as the decoder memory. Module and attribute names follow the
official code so `state_dict()` has the official checkpoint's keys.
"""
import math
import warnings

import numpy as np
import torch
import torch.nn as nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe.unsqueeze(0).transpose(0, 1))  # (max_len, 1, d), persistent as upstream

    def forward(self, x):  # (T, B, d)
        return self.dropout(x + self.pe[:x.shape[0], :])


class Encoder(nn.Module):
    def __init__(self, d=512, ff=1024, layers=8, heads=4, num_classes=1, activation="gelu"):
        super().__init__()
        self.muQuery = nn.Parameter(torch.randn(num_classes, d))
        self.sigmaQuery = nn.Parameter(torch.randn(num_classes, d))
        self.skelEmbedding = nn.Linear(150, d)
        self.sequence_pos_encoder = PositionalEncoding(d, 0.1)
        layer = nn.TransformerEncoderLayer(d_model=d, nhead=heads, dim_feedforward=ff, dropout=0.1,
                                           activation=activation)
        with warnings.catch_warnings():  # torch's note that seq-first layers cannot use nested tensors
            warnings.simplefilter("ignore", UserWarning)
            self.seqTransEncoder = nn.TransformerEncoder(layer, num_layers=layers)

    def forward(self, x, y, mask):
        bs, njoints, nfeats, nframes = x.shape
        x = x.permute((3, 0, 1, 2)).reshape(nframes, bs, njoints * nfeats)
        x = self.skelEmbedding(x)
        xseq = torch.cat((self.muQuery[y][None], self.sigmaQuery[y][None], x), axis=0)
        xseq = self.sequence_pos_encoder(xseq)
        maskseq = torch.cat((torch.ones((bs, 2), dtype=bool), mask), axis=1)
        final = self.seqTransEncoder(xseq, src_key_padding_mask=~maskseq)
        return final[0]  # mu


class Decoder(nn.Module):
    def __init__(self, d=512, ff=1024, layers=8, heads=4, num_classes=1, activation="gelu"):
        super().__init__()
        self.actionBiases = nn.Parameter(torch.randn(num_classes, d))
        self.sequence_pos_encoder = PositionalEncoding(d, 0.1)
        layer = nn.TransformerDecoderLayer(d_model=d, nhead=heads, dim_feedforward=ff, dropout=0.1,
                                           activation=activation)
        self.seqTransDecoder = nn.TransformerDecoder(layer, num_layers=layers)
        self.finallayer = nn.Linear(d, 150)

    def forward(self, z, mask):
        bs, nframes = mask.shape
        z = z[None]  # sequence of size 1 (the action bias is commented out upstream)
        timequeries = self.sequence_pos_encoder(torch.zeros(nframes, bs, z.shape[-1]))
        output = self.seqTransDecoder(tgt=timequeries, memory=z, tgt_key_padding_mask=~mask)
        output = self.finallayer(output).reshape(nframes, bs, 25, 6)
        output[~mask.T] = 0
        return output.permute(1, 2, 3, 0)


class OfficialMotionCLIP(nn.Module):
    """`MOTIONCLIP` without `clip_model` (train.py strips it from checkpoints)."""

    def __init__(self, **kw):
        super().__init__()
        self.encoder, self.decoder = Encoder(**kw), Decoder(**kw)

    def encode(self, x):
        B, T = x.shape[0], x.shape[-1]
        return self.encoder(x, torch.zeros(B, dtype=torch.long), torch.ones(B, T, dtype=bool))

    def decode(self, z, T):
        return self.decoder(z, torch.ones(z.shape[0], T, dtype=bool))


def load_model_wo_clip(model, state_dict):
    """`src/utils/misc.py` verbatim in behaviour."""
    missing_keys, unexpected_keys = model.load_state_dict(state_dict, strict=False)
    assert len(unexpected_keys) == 0
    assert all(k.startswith("clip_model.") for k in missing_keys)


# --- the data formulas (pytorch3d's rotation_conversions, dataset.py::_load) -----------------------------------------
def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """pytorch3d: axis-angle → quaternion (w, xyz) → matrix."""
    angles = np.linalg.norm(aa, axis=-1, keepdims=True)
    half = angles * 0.5
    small = np.abs(angles) < 1e-6
    s = np.where(small, 0.5 - angles * angles / 48, np.sin(half) / np.where(small, 1, angles))
    q = np.concatenate([np.cos(half), aa * s], axis=-1)
    r, i, j, k = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    two_s = 2.0 / (q * q).sum(-1)
    o = np.stack((1 - two_s * (j * j + k * k), two_s * (i * j - k * r), two_s * (i * k + j * r),
                  two_s * (i * j + k * r), 1 - two_s * (i * i + k * k), two_s * (j * k - i * r),
                  two_s * (i * k - j * r), two_s * (j * k + i * r), 1 - two_s * (i * i + j * j)), -1)
    return o.reshape(q.shape[:-1] + (3, 3))


def official_load(thetas: np.ndarray, joints3d: np.ndarray, frame_ix) -> np.ndarray:
    """`Dataset._load` for the AMASS dataset (pose_rep rot6d, glob, translation, no front-view alignment)."""
    joints = joints3d[frame_ix]
    joints = joints - joints[0, 0, :]
    ret_tr = joints[:, 0, :]
    pose = thetas[frame_ix, :].reshape(-1, 24, 3)
    R = axis_angle_to_matrix(pose)
    ret = R[..., :2, :].reshape(*R.shape[:-2], 6)  # matrix_to_rotation_6d: the first two rows
    padded = np.zeros((ret.shape[0], ret.shape[2]))
    padded[:, :3] = ret_tr
    ret = np.concatenate((ret, padded[:, None]), 1)
    return ret.transpose(1, 2, 0).astype(np.float32)
