# Ctrl-C during a call: a child Rscript waits in readmit_score on a stopped daemon (SIGSTOP,
# 60 s timeout); SIGINT makes the call return within 200 ms as an "interrupt" condition (also
# of class readmit_interrupted), and the client works afterwards. The times are Sys.time()
# of the two processes (the same clock on one machine).

test_that("SIGINT interrupts a call waiting on the daemon within 200 ms", {
  skip_on_os("windows")
  d <- start_daemon()
  skip_without_daemon(d)
  on.exit(stop_daemon(d), add = TRUE)
  probe <- readmit_connect(d$endpoint, timeout_ms = 10000)
  nf <- as.integer(readmit_info(probe)$n_features)
  readmit_close(probe)

  dir <- tempfile("readmit-int-")
  dir.create(dir)
  out <- file.path(dir, "out")
  go <- file.path(dir, "go")
  child <- file.path(dir, "child.R")
  writeLines(c(
    "args <- commandArgs(TRUE)",
    ".libPaths(c(args[4], .libPaths()))",
    "library(readmit)",
    "cl <- readmit_connect(args[1], timeout_ms = 60000, retries = 0)",
    "x <- matrix(0, 1, as.integer(args[2]))",
    "cat('waiting', Sys.getpid(), '\\n', file = args[3])",
    "r <- tryCatch({ readmit_score(cl, x); 'returned' },",
    "  interrupt = function(e) sprintf('caught %.6f %s', as.numeric(Sys.time()), paste(class(e), collapse = ',')))",
    "cat(r, '\\n', file = args[3], append = TRUE)",
    "while (!file.exists(args[5])) Sys.sleep(0.05)",
    "cat(if (isTRUE(readmit_health(cl)$ready)) 'ready' else 'not ready', '\\n', file = args[3], append = TRUE)"
  ), child)
  lines <- function() if (file.exists(out)) readLines(out, warn = FALSE) else character()
  wait_for <- function(n, seconds = 60) {
    deadline <- Sys.time() + seconds
    while (length(lines()) < n && Sys.time() < deadline) Sys.sleep(0.02)
    lines()
  }

  tools::pskill(d$pid, tools::SIGSTOP)
  on.exit(tools::pskill(d$pid, tools::SIGCONT), add = TRUE, after = FALSE)
  lib <- dirname(find.package("readmit"))
  system2(file.path(R.home("bin"), "Rscript"), c(shQuote(child), shQuote(d$endpoint), nf, shQuote(out), shQuote(lib),
                                                  shQuote(go)), wait = FALSE)
  first <- strsplit(trimws(wait_for(1)[1]), " ")[[1]]
  expect_identical(first[1], "waiting")
  pid <- as.integer(first[2])
  Sys.sleep(0.5)                      # the call is now waiting on the stopped daemon
  sent <- as.numeric(Sys.time())
  tools::pskill(pid, tools::SIGINT)
  second <- strsplit(trimws(wait_for(2, 10)[2]), " ")[[1]]
  expect_identical(second[1], "caught")
  latency <- as.numeric(second[2]) - sent
  message(sprintf("interrupt condition %.1f ms after SIGINT", latency * 1000))
  expect_lt(latency, 0.2)
  expect_gte(latency, 0)
  expect_match(second[3], "readmit_interrupted,interrupt,condition", fixed = TRUE)
  tools::pskill(d$pid, tools::SIGCONT)
  file.create(go)
  expect_identical(trimws(wait_for(3, 30)[3]), "ready")   # the client works afterwards
})
