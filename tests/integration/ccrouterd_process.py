"""ccrouterd as a child process, for the Python integration tests.

    daemon = Ccrouterd(binary, ["--data-dir", d], log_path="/tmp/x/ccrouterd.log")
    channel = grpc.insecure_channel(daemon.grpc)
    ...
    assert daemon.stop() == 0          # SIGTERM: drain, exit code
    daemon.kill()                      # or SIGKILL, for crash tests

It listens on 127.0.0.1 port 0 for gRPC and HTTP; the first log line
(`event=listening grpc=… http=…`) gives the addresses. Its stderr is read by
a thread into `lines` (and appended to `log_path`, if given).
"""

import re
import signal
import subprocess
import threading
import time

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30  # the daemon's own drain bound is 5 s


class Ccrouterd:
    def __init__(self, binary, extra_args=(), log_path=None, log_level="warn"):
        self.log = open(log_path, "ab") if log_path else None
        if self.log:
            self.log.write(b"---- start ----\n")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
             "--log-level", log_level, *extra_args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines = []
        self.grpc = self.http = None
        self.recovery_ms = None
        ready = threading.Event()

        def read():
            for raw in self.proc.stderr:
                if self.log:
                    self.log.write(raw)
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.lines.append(line)
                m = re.search(r"event=recovered .*elapsed_ms=([0-9.]+)", line)
                if m:
                    self.recovery_ms = float(m.group(1))
                m = re.search(r"event=listening grpc=(\S+) http=(\S+)", line)
                if m and not ready.is_set():
                    self.grpc, self.http = m.group(1), m.group(2)
                    ready.set()
            ready.set()  # EOF: it died before listening

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not ready.wait(START_TIMEOUT_S) or self.grpc is None:
            self.kill()
            raise RuntimeError("ccrouterd did not start:\n" + self.text(30))

    def text(self, last=None):
        return "\n".join(self.lines[-last:] if last else self.lines)

    def wait_for_line(self, pattern, timeout=10):
        """The first stderr line matching the regex `pattern`, waiting up to
        `timeout` s for it (None then): the engine's log writer thread writes
        a line a few ms after the event, so a check right after an RPC may
        come too early."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in list(self.lines) if re.search(pattern, line)), None)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(0.01)

    def stop(self):
        """SIGTERM; the exit code (None if it had to be killed after the timeout)."""
        code = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        else:
            code = self.proc.returncode
        self._close()
        return code

    def kill(self):
        """SIGKILL: a crash, with no drain."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._close()

    def _close(self):
        self.reader.join(timeout=5)
        self.proc.stderr.close()
        if self.log:
            self.log.close()
            self.log = None
