print("mcinr-bench")
