# Benchmark: the R client's own CPU in readmit_score_records of a data.frame of character
# columns (read.csv(colClasses = "character")), per call: user + system time of the R process
# (proc.time: every thread, libzmq's I/O thread included), after one warm-up call.
#
#   R_LIBS=LIB Rscript benchmarks/bindings/client_cpu_r.R ENDPOINT FLAT_CSV TAG [CALLS]
#
# Prints TAG and the CPU milliseconds of each call. Compare builds of the package (installed in
# different R_LIBS) by alternating runs and reading the medians.
library(readmit)
args <- commandArgs(TRUE)
ep <- args[1]; flat <- args[2]; tag <- args[3]
calls <- if (length(args) >= 4) as.integer(args[4]) else 6L
df <- read.csv(flat, colClasses = "character", na.strings = character(0))
cl <- readmit_connect(ep, timeout_ms = 120000)
invisible(suppressWarnings(readmit_score_records(cl, df)))
cpu <- numeric(0)
for (i in seq_len(calls)) {
  a <- proc.time()
  r <- suppressWarnings(readmit_score_records(cl, df))
  b <- proc.time()
  cpu <- c(cpu, sum((b - a)[1:2]) * 1000)
}
cat(tag, sprintf("%.0f", cpu), "\n")
