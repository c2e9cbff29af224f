# Benchmark: the R client's own CPU in readmit_score_records of a data.frame, per call: user +
# system time of the R process (proc.time: every thread, libzmq's I/O thread included), and its
# minor page faults (fresh memory touched: /proc/self/stat), after one warm-up call.
#
#   R_LIBS=LIB Rscript benchmarks/bindings/client_cpu_r.R ENDPOINT FLAT_CSV TAG [CALLS] [FRAME]
#
# FRAME is `character` (read.csv(colClasses = "character"), the default) or `factors`
# (read.csv(stringsAsFactors = TRUE): factors and integers). Prints TAG, the CPU milliseconds
# and the minor faults of each call. Compare builds of the package (installed in different
# R_LIBS) by alternating runs and reading the medians.
library(readmit)
args <- commandArgs(TRUE)
ep <- args[1]; flat <- args[2]; tag <- args[3]
calls <- if (length(args) >= 4) as.integer(args[4]) else 6L
frame <- if (length(args) >= 5) args[5] else "character"
df <- if (frame == "factors") {
  read.csv(flat, stringsAsFactors = TRUE, na.strings = character(0))
} else {
  read.csv(flat, colClasses = "character", na.strings = character(0))
}
minflt <- function() as.numeric(strsplit(readLines("/proc/self/stat"), " ")[[1]][10])
cl <- readmit_connect(ep, timeout_ms = 120000)
invisible(suppressWarnings(readmit_score_records(cl, df)))
cpu <- numeric(0); faults <- numeric(0)
for (i in seq_len(calls)) {
  f <- minflt()
  a <- proc.time()
  r <- suppressWarnings(readmit_score_records(cl, df))
  b <- proc.time()
  faults <- c(faults, minflt() - f)
  cpu <- c(cpu, sum((b - a)[1:2]) * 1000)
}
cat(tag, frame, "cpu ms:", sprintf("%.0f", cpu), "| minor faults:", sprintf("%.0f", faults), "\n")
