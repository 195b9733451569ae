"""A real OpenAI-compatible completions server for the HTTP backend's end-to-end tests.

It serves a `TransformersLM` the way vLLM serves a model: `/v1/completions` with `logprobs` (top-k at each
generated position) and `echo` (the prompt's own token log-probs, the first token without one), plus vLLM's
`/tokenize` and `/detokenize`. It generates exactly one token, which is all the backend asks for.
`POST /test/fail` makes the next N requests answer 503, to exercise the client's retries for real.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from datatrainer.models.lm.hf import TransformersLM


class CompletionRequest(BaseModel):
    model: str
    prompt: str | list[str]
    max_tokens: int = 16
    logprobs: int | None = None
    echo: bool = False
    temperature: float = 1.0


class TokenizeRequest(BaseModel):
    model: str
    prompt: str
    add_special_tokens: bool = True


class DetokenizeRequest(BaseModel):
    model: str
    tokens: list[int]


class FailRequest(BaseModel):
    count: int


def create_app(lm: TransformersLM, served_name: str) -> FastAPI:
    app = FastAPI()
    app.state.failures = 0
    tokenizer = lm._tokenizer

    def piece(token_id: int) -> str:
        return str(tokenizer.decode([token_id], skip_special_tokens=False, clean_up_tokenization_spaces=False))

    @app.middleware("http")
    async def inject_failures(request: Request, call_next: Any) -> Any:
        if app.state.failures > 0 and not request.url.path.startswith("/test"):
            app.state.failures -= 1
            return JSONResponse({"error": {"message": "overloaded, try again"}}, status_code=503)
        return await call_next(request)

    def unknown_model(name: str) -> JSONResponse | None:
        if name == served_name:
            return None
        return JSONResponse({"error": {"message": f"The model `{name}` does not exist."}}, status_code=404)

    @app.post("/test/fail")
    def fail(request: FailRequest) -> dict[str, int]:
        app.state.failures = request.count
        return {"failures": request.count}

    @app.post("/tokenize", response_model=None)
    def tokenize(request: TokenizeRequest) -> dict[str, Any] | JSONResponse:
        if (error := unknown_model(request.model)) is not None:
            return error
        ids = tokenizer.encode(request.prompt, add_special_tokens=request.add_special_tokens)
        return {"tokens": ids, "count": len(ids), "max_model_len": lm._context}

    @app.post("/detokenize", response_model=None)
    def detokenize(request: DetokenizeRequest) -> dict[str, Any] | JSONResponse:
        if (error := unknown_model(request.model)) is not None:
            return error
        return {"prompt": tokenizer.decode(request.tokens, skip_special_tokens=False,
                                           clean_up_tokenization_spaces=False)}

    @app.post("/v1/completions", response_model=None)
    def completions(request: CompletionRequest) -> dict[str, Any] | JSONResponse:
        if (error := unknown_model(request.model)) is not None:
            return error
        if request.max_tokens != 1:
            return JSONResponse({"error": {"message": "this test server generates exactly one token"}},
                                status_code=400)
        prompts = [request.prompt] if isinstance(request.prompt, str) else request.prompt
        distributions = lm.next_token_distribution(prompts)
        k = max(request.logprobs or 0, 1)
        choices = []
        for index, (prompt, distribution) in enumerate(zip(prompts, distributions, strict=True)):
            top = np.argsort(-distribution, kind="stable")[:k]
            generated = int(top[0])
            tokens = [piece(generated)]
            values: list[float | None] = [float(distribution[generated])]
            alternatives: list[dict[str, float] | None] = [{piece(int(i)): float(distribution[i]) for i in top}]
            text = piece(generated)
            if request.echo:
                ids = tokenizer.encode(prompt, add_special_tokens=True)
                prompt_values: list[float | None] = [None, *(float(v) for v in lm.token_logprobs([ids])[0])]
                prompt_tokens = [piece(i) for i in ids]
                tokens = prompt_tokens + tokens
                values = prompt_values + values
                alternatives = [None if v is None else {t: v} for t, v in zip(prompt_tokens, prompt_values,
                                                                               strict=True)] + alternatives
                text = prompt + text
            offsets = np.concatenate([[0], np.cumsum([len(t) for t in tokens])[:-1]]).tolist()
            choices.append({"index": index, "text": text, "finish_reason": "length",
                            "logprobs": {"tokens": tokens, "token_logprobs": values, "top_logprobs": alternatives,
                                         "text_offset": offsets} if request.logprobs is not None else None})
        return {"id": "cmpl-test", "object": "text_completion", "created": int(time.time()),
                "model": served_name, "choices": choices}

    return app


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` with uvicorn on a free local port in a thread; yield its `/v1` base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test LM server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
