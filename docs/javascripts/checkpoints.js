// The checkpoints the build may ship: one trained model each, its .onnx file
// and the label the model switcher shows. model.onnx is always there; the
// others once report.json lists them. The JavaScript twin of
// model_export/checkpoints.py (tests/test_shared_definitions.py keeps them equal).

export const CHECKPOINTS = [
  { name: "model", file: "model.onnx", label: "pre-trained (base)" },
  { name: "sft", file: "model_sft.onnx", label: "instruction-tuned (SFT)" },
  { name: "rlhf", file: "model_rlhf.onnx", label: "preference-tuned (RLHF)" },
  { name: "agent", file: "model_agent.onnx", label: "agent (tool use)" },
];
