# The ONNX file the browser demos load: the numbers plus the graph.
onnx_bytes = report["onnx"]["bytes"]
ops = report["onnx"]["ops"]            # operation kind -> how many in the graph
graph_bytes = onnx_bytes - number_bytes
print(f"model.onnx: {onnx_bytes:,} bytes =",
      f"{number_bytes:,} of numbers + {graph_bytes:,} of graph")
print(f"the graph: {sum(ops.values())} operations of {len(ops)} kinds;",
      "most used:", ", ".join(f"{op} x{n}" for op, n in list(ops.items())[:5]))
gap = report["run_file"]["max_abs_diff_vs_onnx"]
print(f"largest gap between run.py's and onnxruntime's logits: {gap:.1e}")
