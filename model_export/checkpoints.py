"""The checkpoints the build ships: one name per trained model, and its files.

The page's model switcher reads the same list from docs/javascripts/checkpoints.js
(name, onnx file, label); tests/test_shared_definitions.py keeps the two the same.
"""

from __future__ import annotations

CHECKPOINTS = [
    {"name": "model", "file": "model.onnx", "label": "pre-trained (base)",
     "params": "params.npz", "safetensors": "model.safetensors"},
    {"name": "sft", "file": "model_sft.onnx", "label": "instruction-tuned (SFT)",
     "params": "params_sft.npz", "safetensors": "model_sft.safetensors"},
    {"name": "rlhf", "file": "model_rlhf.onnx", "label": "preference-tuned (RLHF)",
     "params": "params_rlhf.npz", "safetensors": "model_rlhf.safetensors"},
    {"name": "agent", "file": "model_agent.onnx", "label": "agent (tool use)",
     "params": "params_agent.npz", "safetensors": "model_agent.safetensors"},
]
REWARD_MODEL = "model_reward.onnx"  # the reward model: a conversation in, a score out

# Every file of a finished build that the site ships (sitebuild/hooks.py copies them).
SHIPPED_FILES = ([ck["file"] for ck in CHECKPOINTS] + [REWARD_MODEL, "tokenizer.json", "report.json",
                 "knowledge.json", "run.py"] + [ck["safetensors"] for ck in CHECKPOINTS])
