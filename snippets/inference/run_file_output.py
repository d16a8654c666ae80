# What run.py printed, run in a folder holding only the two files.
for example in report["run_file"]["examples"]:
    args = [f'"{a}"' if " " in a else a for a in example["args"]]
    print("$ python run.py " + " ".join(args))
    print(example["output"])
