# The two files, measured: how big each is and what is inside.
import json
from guide import artifact              # the build's files: a file at build time, a download in the browser

report = json.loads(artifact("report.json"))
run_file = artifact("run.py")
params = report["n_params"]
onnx_bytes = report["onnx"]["bytes"]
model_kb = onnx_bytes / 1000
run_kb = len(run_file.encode("utf-8")) / 1000
run_lines = len(run_file.splitlines())
print(f"model.onnx: {onnx_bytes:,} bytes holding {params:,} parameters")
print(f"            {4 * params:,} bytes of 4-byte numbers, {onnx_bytes - 4 * params:,} bytes of graph and names")
print(f"run.py:     {len(run_file.encode('utf-8')):,} bytes, {run_lines} lines of Python")
