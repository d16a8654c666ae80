# The two files, measured: how big each is, and where the bytes go.
import json
from guide import artifact    # the build's files (downloaded in the browser)

report = json.loads(artifact("report.json"))
run_file = artifact("run.py")
n_params = report["n_params"]          # every learned number in the model
param_bytes = report["run_file"]["safetensors_bytes"]["model.safetensors"]
number_bytes = 4 * n_params            # a 32-bit float takes 4 bytes
header_bytes = param_bytes - number_bytes   # names, shapes, sizes, tokenizer
run_lines = len(run_file.splitlines())

print(f"model.safetensors: {param_bytes:,} bytes")
print(f"  {n_params:,} numbers x 4 bytes = {number_bytes:,} bytes",
      f"({number_bytes / param_bytes:.1%} of the file)")
print(f"  header: {header_bytes:,} bytes")
print(f"run.py: {len(run_file.encode('utf-8')):,} bytes, {run_lines} lines")

# The same arithmetic for a large open-weights model, at 2 bytes per number:
big_params = 7e9
big_gb = big_params * 2 / 1e9
print(f"{big_params / 1e9:.0f} billion parameters x 2 bytes = {big_gb:.0f} GB")
