"""PyTorch twin of `xt check all` for bench/compare.ts: the notebook's seven checks at seed 231
with fixtures/gen/reference.py (the notebook's code, through fixtures/gen/notebook_checks.py's
run_check), each output compared with the notebook's expected array (checks/expected/<check>.json,
the values xt checks against) by the notebook's rel_error.

  /usr/bin/python3 bench/torch_checks.py [--threads N]

Prints one JSON line: each output's rel_error and whether it is under the check's threshold.
compare.ts times the whole process, interpreter and `import torch` included, as a user running
the notebook's checks in Python would wait for them.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "gen"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from notebook_checks import CHECKS, run_check  # noqa: E402
from reference import rel_error  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    results = {}
    passed = True
    for check in CHECKS:
        with open(os.path.join(HERE, "..", "checks", "expected", f"{check}.json")) as f:
            expected = json.load(f)
        got = run_check(check, 231)
        for out in expected["outputs"]:
            want = np.asarray(out["values"], dtype=np.float64).reshape(out["shape"])
            err = rel_error(want, got[out["name"]])
            results[f"{check}/{out['name']}"] = err
            passed &= bool(err < out["threshold"])
    print(json.dumps({"workload": "check_all", "threads": args.threads, "passed": passed, "relErrors": results,
                      "engine": "pytorch %s" % torch.__version__}))


if __name__ == "__main__":
    main()
