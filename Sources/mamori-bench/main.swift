print("mamori-bench: see scripts/bench.sh")
