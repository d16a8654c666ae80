"""Build profiles: every number that decides what the build produces.

"full" is the model the site ships; "smoke" is a tiny, fast build with the
same pipeline, used by the test suite. A profile is part of the build's cache
key (build.py), so changing any value here triggers a rebuild.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from model_export.agent_train import AGENT_PROFILES, AgentConfig
from model_export.align import ALIGN_PROFILES, AlignConfig
from model_export.model import GPTConfig
from model_export.train import TrainConfig


@dataclass(frozen=True)
class Profile:
    name: str
    model: GPTConfig
    pretrain: TrainConfig
    world_seed: int = 0
    corpus_seed: int = 0
    vocab_size: int = 512        # BPE vocabulary, special tokens included
    curve_every: int = 10        # report.json's train-loss curve: one mean per this many steps
    abilities_every: int = 50    # report.json's abilities: measured every this many pre-training steps
    parity_sequences: int = 4    # real and random sequences checked numpy vs onnxruntime
    align: AlignConfig = field(default_factory=lambda: ALIGN_PROFILES["full"])  # SFT, reward model, RLHF (align.py)
    agent: AgentConfig = field(default_factory=lambda: AGENT_PROFILES["full"])  # tool-use tuning (agent_train.py)

    def to_dict(self) -> dict:
        return asdict(self)


PROFILES = {
    # 677k parameters. Measured on 2 shared cores: 85/85 capitals, val loss 0.454
    # (train 0.447) after 2000 steps of 32 x 128 tokens (5.7 epochs); about 150-200 ms
    # per step on idle cores, 600 ms when the machine was heavily shared.
    "full": Profile(
        name="full",
        model=GPTConfig(vocab_size=512, n_layer=3, n_embd=128, n_head=4, block_size=128),
        pretrain=TrainConfig(steps=2000, batch_size=32, lr=3e-3, warmup_steps=100, weight_decay=0.1,
                             eval_every=200, eval_batches=8, workers=2),
        curve_every=20,
        align=ALIGN_PROFILES["full"],
        agent=AGENT_PROFILES["full"],
    ),
    "smoke": Profile(
        name="smoke",
        model=GPTConfig(vocab_size=512, n_layer=1, n_embd=32, n_head=2, block_size=64),
        pretrain=TrainConfig(steps=300, batch_size=16, lr=1e-2, warmup_steps=20, eval_every=100, eval_batches=2, workers=2),
        curve_every=5,
        parity_sequences=2,
        align=ALIGN_PROFILES["smoke"],
        agent=AGENT_PROFILES["smoke"],
    ),
}
