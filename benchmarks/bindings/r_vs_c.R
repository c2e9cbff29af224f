# Scoring 100,000 rows through the R binding vs the same rows through the C shim (libreadmit),
# side by side in one run against one readmitd. Run through r_vs_c.sh, which builds both:
#
#   bash benchmarks/bindings/r_vs_c.sh [--rows 100000] [--repeats 5] [--rounds 3]
#
# Reports medians over rounds x repeats and the ratios R / C:
#   - readmit_score(cl, matrix)       vs C readmit_score       (binding overhead, numeric SCORE)
#   - readmit_score_frame(cl, matrix) vs C readmit_score_full  (full result, numeric SCORE)
#   - readmit_score_records(cl, flat records) (RECORDS: the daemon encodes), against C
#     readmit_score of the matrix for scale
# The flat records are `readmit history` (--cli) of the first --rows rows of --data; the numeric
# matrix is their feature vectors from `readmit encode`, so every path scores the same rows (the
# script stops unless the records' risks equal the matrix's, to the bit).
# Rounds alternate C and R so both see the same machine state.

args <- commandArgs(trailingOnly = TRUE)
opt <- list(rows = "100000", repeats = "5", rounds = "3", data = "", daemon = "", model = "",
            cbench = "", endpoint = "", cli = "")
for (i in seq(1L, length(args), by = 2L)) {
  key <- sub("^--", "", args[[i]])
  if (!key %in% names(opt) || i == length(args)) stop("unknown option ", args[[i]])
  opt[[key]] <- args[[i + 1L]]
}
rows <- as.integer(opt$rows); repeats <- as.integer(opt$repeats); rounds <- as.integer(opt$rounds)
suppressPackageStartupMessages(library(readmit))

# The daemon: started here on a free port unless --endpoint names a running one.
daemon_pid <- NA_integer_
endpoint <- opt$endpoint
if (!nzchar(endpoint)) {
  port <- NA
  for (i in 1:100) {
    p <- sample(20000:60000, 1)
    s <- tryCatch(suppressWarnings(serverSocket(p)), error = function(e) NULL)
    if (!is.null(s)) { close(s); port <- p; break }
  }
  endpoint <- sprintf("tcp://127.0.0.1:%d", port)
  pidfile <- tempfile()
  log <- tempfile(fileext = ".log")
  system2("sh", c("-c", shQuote(sprintf("echo $$ > %s; exec %s --model %s --endpoint %s > %s 2>&1",
                                         shQuote(pidfile), shQuote(opt$daemon), shQuote(opt$model),
                                         endpoint, shQuote(log)))), wait = FALSE)
  deadline <- Sys.time() + 60
  repeat {
    cl <- readmit_connect(endpoint, timeout_ms = 250, retries = 0)
    ok <- tryCatch(isTRUE(readmit_health(cl)$ready), readmit_error = function(e) FALSE)
    readmit_close(cl)
    if (ok) break
    if (Sys.time() > deadline) stop("readmitd did not start:\n", paste(readLines(log), collapse = "\n"))
    Sys.sleep(0.1)
  }
  daemon_pid <- as.integer(readLines(pidfile)[1])
}
stop_daemon <- function() {
  if (!is.na(daemon_pid)) tools::pskill(daemon_pid, tools::SIGTERM)
}

run <- function() {

cl <- readmit_connect(endpoint, timeout_ms = 120000)
con <- gzfile(opt$data, "r")
lines <- readLines(con, n = rows + 1L)
close(con)
if (length(lines) < rows + 1L) stop("the data has only ", length(lines) - 1L, " rows")
raw_csv <- tempfile(fileext = ".csv")
writeLines(lines, raw_csv)
rm(lines)
flat_csv <- tempfile(fileext = ".csv")
log <- system2(opt$cli, shQuote(c("history", "--model", opt$model, "--data", raw_csv, "--out", flat_csv)),
               stdout = TRUE, stderr = TRUE)
if (!file.exists(flat_csv)) stop("readmit history failed:\n", paste(log, collapse = "\n"))
recs <- utils::read.csv(flat_csv, colClasses = "character", na.strings = character(0))
# The same rows as read.csv types them (numbers as numbers) and with factors for the texts.
recs_typed <- utils::read.csv(flat_csv, na.strings = character(0))
recs_factors <- utils::read.csv(flat_csv, na.strings = character(0), stringsAsFactors = TRUE)

# The numeric matrix: the same rows' feature vectors as the daemon encodes them (`readmit
# encode`), which is what a client with ready vectors sends; both paths must give the same risks.
vectors <- tempfile(fileext = ".f64")
log <- system2(opt$cli, shQuote(c("encode", "--model", opt$model, "--records", flat_csv, "--format", "f64",
                                   "--out", vectors)), stdout = TRUE, stderr = TRUE)
if (!file.exists(vectors)) stop("readmit encode failed:\n", paste(log, collapse = "\n"))
n_features <- nrow(readmit_schema(cl))
x <- matrix(readBin(vectors, "double", n = rows * n_features, size = 8, endian = "little"),
            nrow = rows, byrow = TRUE)
# Rows with an error (stays the cohort excludes) have no risk on the raw path; their vectors
# (all missing, as `readmit encode` writes them) still score on the numeric one.
numeric_risk <- readmit_score(cl, x)
records_out <- suppressWarnings(readmit_score_records(cl, recs))
scored <- is.na(records_out$error)
same <- identical(numeric_risk[scored], records_out$risk[scored]) && all(is.na(records_out$risk[!scored]))
if (!same) stop("the records' risks differ from the numeric path's on the same rows")
for (other in list(recs_typed, recs_factors)) {
  if (!identical(suppressWarnings(readmit_score_records(cl, other))$risk, records_out$risk)) {
    stop("the records read with other column types score differently")
  }
}
cat(sprintf("risks of both paths identical (the %d rows with an error excepted)\n", sum(!scored)))
bin <- tempfile(fileext = ".bin")
writeBin(as.vector(t(x)), bin, size = 8, endian = "little")

time_ms <- function(expr) {
  t0 <- Sys.time()
  force(expr)
  as.numeric(Sys.time() - t0, units = "secs") * 1000
}
quiet <- function(expr) suppressWarnings(expr)

# Warm-up (first connection, page faults, byte compilation).
r_risk <- readmit_score(cl, x)
invisible(readmit_score_frame(cl, x))
invisible(quiet(readmit_score_records(cl, recs)))

times <- list(c_score = numeric(), c_full = numeric(), r_score = numeric(), r_frame = numeric(),
              r_records = numeric(), r_typed = numeric(), r_factors = numeric())
c_risk_file <- tempfile(fileext = ".bin")
for (round in seq_len(rounds)) {
  out <- system2(opt$cbench, c(endpoint, bin, nrow(x), ncol(x), repeats, c_risk_file), stdout = TRUE)
  if (!is.null(attr(out, "status"))) stop("the C benchmark failed:\n", paste(out, collapse = "\n"))
  kv <- do.call(rbind, strsplit(out, " "))
  times$c_score <- c(times$c_score, as.numeric(kv[kv[, 1] == "score", 2]))
  times$c_full <- c(times$c_full, as.numeric(kv[kv[, 1] == "score_full", 2]))
  for (r in seq_len(repeats)) {
    times$r_score <- c(times$r_score, time_ms(readmit_score(cl, x)))
    times$r_frame <- c(times$r_frame, time_ms(readmit_score_frame(cl, x)))
    times$r_records <- c(times$r_records, time_ms(quiet(readmit_score_records(cl, recs))))
    times$r_typed <- c(times$r_typed, time_ms(quiet(readmit_score_records(cl, recs_typed))))
    times$r_factors <- c(times$r_factors, time_ms(quiet(readmit_score_records(cl, recs_factors))))
  }
}
readmit_close(cl)
c_risk <- readBin(c_risk_file, "double", n = nrow(x), size = 8, endian = "little")
if (!identical(c_risk, r_risk)) stop("R and C got different risks for the same rows")

med <- vapply(times, stats::median, 0)
row <- function(name, key, ref) {
  sprintf("| %-44s | %9.1f | %11s | %s |", name, med[[key]],
          format(round(rows / med[[key]] * 1000), big.mark = ","),
          if (is.na(ref)) "reference" else sprintf("%.2fx", med[[key]] / med[[ref]]))
}
cat(sprintf("\n%s rows x %d features, %d rounds x %d repeats, readmitd at %s, %s\n\n",
            format(rows, big.mark = ","), ncol(x), rounds, repeats, endpoint, R.version.string))
cat("| path | median ms | rows/s | vs C |\n|---|---:|---:|---:|\n")
cat(row("C shim: readmit_score", "c_score", NA), "\n")
cat(row("R: readmit_score(cl, matrix)", "r_score", "c_score"), "\n")
cat(row("C shim: readmit_score_full", "c_full", NA), "\n")
cat(row("R: readmit_score_frame(cl, matrix)", "r_frame", "c_full"), "\n")
cat(row("R: readmit_score_records(cl, flat records)", "r_records", "c_score"), "\n")
cat(row("R: ... read.csv's own types", "r_typed", "c_score"), "\n")
cat(row("R: ... stringsAsFactors = TRUE", "r_factors", "c_score"), "\n")
cat(sprintf("\nraw records / numeric SCORE of the same rows, throughput through R: %.2f all character, %.2f read.csv's types, %.2f factors (target >= 0.8)\n",
            med[["r_score"]] / med[["r_records"]], med[["r_score"]] / med[["r_typed"]], med[["r_score"]] / med[["r_factors"]]))
cat("\nreproduce: bash benchmarks/bindings/r_vs_c.sh",
    sprintf("--rows %d --repeats %d --rounds %d\n", rows, repeats, rounds))
}

tryCatch(run(), finally = stop_daemon())
