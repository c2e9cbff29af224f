# Starts and stops a real readmitd for the client tests (no mocks): base R only.
# READMITD_BIN and READMIT_TEST_MODEL name the daemon and the model it serves;
# scripts/tests/40-r.sh sets them (and READMIT_BIN, the `readmit` CLI) so the tests run in CI.

daemon_paths <- function() {
  list(bin = Sys.getenv("READMITD_BIN"), model = Sys.getenv("READMIT_TEST_MODEL"),
       cli = Sys.getenv("READMIT_BIN"))
}

# Skips the calling test, with the reason, when there is no daemon to test against.
# With READMIT_REQUIRE_DAEMON=1 (the stage script) a missing daemon is a failure instead.
skip_without_daemon <- function(daemon) {
  if (is.null(daemon)) {
    why <- "no readmitd: set READMITD_BIN and READMIT_TEST_MODEL (scripts/tests/40-r.sh does)"
    if (identical(Sys.getenv("READMIT_REQUIRE_DAEMON"), "1")) stop(why)
    skip(why)
  }
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port <- function() {
  for (i in 1:100) {
    port <- sample(20000:60000, 1)
    s <- tryCatch(suppressWarnings(serverSocket(port)), error = function(e) NULL)
    if (!is.null(s)) {
      close(s)
      return(port)
    }
  }
  stop("no free TCP port found")
}

read_pid <- function(pidfile) {
  if (!file.exists(pidfile)) return(NA_integer_)
  suppressWarnings(as.integer(readLines(pidfile, warn = FALSE)[1]))
}

process_alive <- function(pid) {
  stat <- sprintf("/proc/%d/stat", pid)
  if (dir.exists("/proc")) {
    if (!file.exists(stat)) return(FALSE)
    fields <- tryCatch(strsplit(sub("^.*\\) ", "", readLines(stat, warn = FALSE)[1]), " ")[[1]],
                       error = function(e) "X")
    return(!fields[1] %in% c("Z", "X"))   # a zombie has exited
  }
  isTRUE(tools::pskill(pid, 0L))
}

# Starts readmitd on a free loopback port and waits until it is ready (HEALTH says a model is
# loaded). Returns NULL when the daemon or model is not configured. `model` serves another
# model file than READMIT_TEST_MODEL; `curve` (a list of readmit_connect's three key
# arguments) is what the readiness probe connects with to a daemon started with CURVE.
start_daemon <- function(extra_args = character(), timeout_s = 60, model = NULL, curve = NULL) {
  p <- daemon_paths()
  if (!is.null(model)) p$model <- model
  if (!nzchar(p$bin) || !file.exists(p$bin) || !nzchar(p$model) || !file.exists(p$model)) return(NULL)
  for (attempt in 1:5) {
    port <- free_port()
    endpoint <- sprintf("tcp://127.0.0.1:%d", port)
    log <- tempfile("readmitd-", fileext = ".log")
    pidfile <- tempfile("readmitd-", fileext = ".pid")
    # The shell records its pid, then becomes the daemon (exec), so the pid is the daemon's.
    script <- sprintf("echo $$ > %s; exec %s --model %s --endpoint %s %s > %s 2>&1",
                      shQuote(pidfile), shQuote(p$bin), shQuote(p$model), endpoint,
                      paste(shQuote(extra_args), collapse = " "), shQuote(log))
    system2("sh", c("-c", shQuote(script)), wait = FALSE)
    d <- new.env()
    d$endpoint <- endpoint
    d$log <- log
    d$pid <- NA_integer_
    reg.finalizer(d, function(e) stop_daemon(e), onexit = TRUE)
    deadline <- Sys.time() + timeout_s
    while (Sys.time() < deadline) {
      if (is.na(d$pid)) {
        d$pid <- read_pid(pidfile)
        if (is.na(d$pid)) { Sys.sleep(0.02); next }           # the shell has not written it yet
      }
      if (!process_alive(d$pid)) break                         # exited: port taken? retry
      cl <- do.call(readmit_connect, c(list(endpoint, timeout_ms = 250, retries = 0), curve))
      ready <- tryCatch(isTRUE(readmit_health(cl)$ready), readmit_error = function(e) FALSE)
      readmit_close(cl)
      if (ready) return(d)
      Sys.sleep(0.1)
    }
    stop_daemon(d)
    if (attempt == 5 || !any(grepl("in use|bind", readLines(log, warn = FALSE), ignore.case = TRUE))) {
      stop("readmitd did not become ready; its log:\n",
           paste(readLines(log, warn = FALSE), collapse = "\n"))
    }
  }
}

# Stops the daemon (SIGTERM, then SIGKILL after 10 s); returns whether it exited on SIGTERM.
stop_daemon <- function(d) {
  if (is.null(d) || is.na(d$pid) || !process_alive(d$pid)) return(invisible(TRUE))
  tools::pskill(d$pid, tools::SIGTERM)
  deadline <- Sys.time() + 10
  while (process_alive(d$pid) && Sys.time() < deadline) Sys.sleep(0.05)
  if (process_alive(d$pid)) {
    tools::pskill(d$pid, tools::SIGKILL)
    return(invisible(FALSE))
  }
  invisible(TRUE)
}
