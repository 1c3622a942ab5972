"""Speed of the bundled GGUF models under llama.cpp on this machine: load, prompt eval, first token, generation.

Each model runs in its own child process (so its peak RSS is its own) with n_threads=2, n_ctx=4096 and
OMP_WAIT_POLICY=passive. The prompt is ChatML: passages cut from README.md to --prompt-tokens in all, and an
instruction to summarise; end-of-sequence is banned so that exactly --gen-tokens tokens are generated.
prompt_tok_s and gen_tok_s are llama.cpp's own counters; first_token_s is wall time (prompt eval + 1 token).
others_cpu_pct is how busy other processes kept the machine meanwhile: the numbers are clean only near 0.

    .venv/bin/python bench/llm_speed.py --models qwen-0.5b qwen-1.5b
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SYSTEM = "You answer questions using only the numbered passages the user gives you."
QUESTION = "\n\nSummarise what these passages say about the tool, point by point."


def chatml(system: str, user: str) -> str:
    return f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def measure(model: str, prompt_tokens: int, gen_tokens: int, threads: int) -> dict[str, float | int | str]:
    """One model, in this process: the numbers of one row."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # read once, when llama_cpp loads libgomp
    import llama_cpp
    from llama_cpp import Llama

    from rag.llm.bundled import CATALOGUE, model_path

    start = time.perf_counter()
    path = model_path(model) if model in CATALOGUE else Path(model)
    located = time.perf_counter() - start
    start = time.perf_counter()
    llm = Llama(model_path=str(path), n_threads=threads, n_threads_batch=threads, n_ctx=4096, verbose=False)
    load = time.perf_counter() - start

    # Cut README.md so that the whole rendered prompt is `prompt_tokens` long.
    def size(text: str) -> int:
        return len(llm.tokenize(text.encode(), add_bos=False, special=True))

    overhead = size(chatml(SYSTEM, "[1] " + QUESTION))
    readme = llm.tokenize((ROOT / "README.md").read_text(encoding="utf-8").encode(), add_bos=False)
    passages = llm.detokenize(readme[: prompt_tokens - overhead]).decode("utf-8", errors="ignore")
    prompt = chatml(SYSTEM, "[1] " + passages + QUESTION)
    n_prompt = size(prompt)

    banned = {llm.token_eos(): -1e9}  # no early stop: every model generates the same number of tokens
    for special in ("<|im_end|>", "<|endoftext|>"):
        ids = llm.tokenize(special.encode(), add_bos=False, special=True)
        if len(ids) == 1:
            banned[ids[0]] = -1e9
    llama_cpp.llama_perf_context_reset(llm._ctx.ctx)
    start = time.perf_counter()
    first = 0.0
    for _chunk in llm.create_completion(prompt, max_tokens=gen_tokens, temperature=0.0, stream=True,
                                        logit_bias=banned):
        first = first or time.perf_counter() - start
    total = time.perf_counter() - start
    perf = llama_cpp.llama_perf_context(llm._ctx.ctx)  # llama.cpp's own counters: compute time only
    return {
        "model": model, "file_mb": round(path.stat().st_size / 2**20), "locate_s": round(located, 3),
        "load_s": round(load, 2), "prompt_tokens": n_prompt,
        "prompt_tok_s": round(perf.n_p_eval / (perf.t_p_eval_ms / 1000), 1), "first_token_s": round(first, 2),
        "gen_tokens": perf.n_eval, "gen_tok_s": round(perf.n_eval / (perf.t_eval_ms / 1000), 1),
        "total_s": round(total, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def cpu_busy_s() -> float:
    """Seconds of CPU time the whole machine has spent busy since boot (Linux /proc/stat; 0 elsewhere)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["qwen-0.5b", "qwen-1.5b"],
                        help="bundled model names (rag.llm.bundled) or .gguf paths")
    parser.add_argument("--prompt-tokens", type=int, default=600)
    parser.add_argument("--gen-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child: measure this model, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.prompt_tokens, args.gen_tokens, args.threads)))
        return 0
    rows = []
    env = {**os.environ, "OMP_WAIT_POLICY": "passive"}
    for model in args.models:
        busy, own, start = cpu_busy_s(), children_cpu_s(), time.perf_counter()
        child = subprocess.run([sys.executable, __file__, "--one", model, "--prompt-tokens", str(args.prompt_tokens),
                                "--gen-tokens", str(args.gen_tokens), "--threads", str(args.threads)],
                               capture_output=True, text=True, env=env)
        if child.returncode:
            print(f"{model}: failed\n{child.stderr[-2000:]}", file=sys.stderr)
            return 1
        row = json.loads(child.stdout.strip().splitlines()[-1])
        # How much of the machine other processes used meanwhile: the numbers are only clean near 0.
        others = (cpu_busy_s() - busy) - (children_cpu_s() - own)
        row["others_cpu_pct"] = round(100 * max(others, 0.0) / ((time.perf_counter() - start) * (os.cpu_count() or 1)))
        rows.append(row)
    columns = list(rows[0])
    print(" | ".join(columns))
    print(" | ".join("---" for _ in columns))
    for row in rows:
        print(" | ".join(str(row[c]) for c in columns))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
