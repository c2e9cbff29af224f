#!/usr/bin/env Rscript
# Scores a cohort of raw encounter records against a running readmitd and prints the patients
# with the highest 30-day readmission risk with the features that drive it. The records go to
# the daemon as they are (RECORDS) and the daemon encodes them with its model's own dataset
# spec: this script names no column of any data set.
#
# The cohort is a CSV of flat raw records, one row per encounter with the model's raw fields
# (readmit_raw_fields). `readmit history` writes one from the tables of a data set, with the
# history fields derived from each patient's earlier stays, e.g. for Diabetes 130 (not in the
# repository, see data/diabetes130/README.md):
#
#   readmit history --model output/model.readmit --data data/diabetes130/diabetic_data.csv.gz \
#       --out output/flat.csv
#   readmitd --model output/model.readmit --endpoint tcp://127.0.0.1:5555 &
#   Rscript bindings/r/examples/score_cohort.R output/flat.csv \
#       --endpoint tcp://127.0.0.1:5555 --top 10 --out output/scored.csv
#
# A cohort without the history fields (an EHR extract of current stays only) is scored too,
# with unknown history: the daemon treats those features as missing and says so in a warning.
#
# Needs the package: R CMD INSTALL bindings/r

args <- commandArgs(trailingOnly = TRUE)
opt <- list(endpoint = "tcp://127.0.0.1:5555", top = "10", out = "", k = "3")
files <- character()
i <- 1L
while (i <= length(args)) {
  a <- args[[i]]
  if (a %in% c("-h", "--help")) {
    cat("usage: score_cohort.R FLAT_RECORDS.csv[.gz] [--endpoint E] [--top N] [--k K] [--out FILE]\n")
    quit(status = 0)
  }
  if (startsWith(a, "--")) {
    key <- substring(a, 3L)
    if (!key %in% names(opt) || i == length(args)) stop("unknown or incomplete option ", a)
    opt[[key]] <- args[[i + 1L]]
    i <- i + 2L
  } else {
    files <- c(files, a)
    i <- i + 1L
  }
}
if (length(files) != 1L) stop("give one CSV file of flat raw records (see --help)")

suppressPackageStartupMessages(library(readmit))

# Every column as text, exactly as written: the daemon reads numbers and missing tokens itself.
cohort <- utils::read.csv(files, colClasses = "character", na.strings = character(0))
cat(sprintf("cohort: %s rows from %s\n", format(nrow(cohort), big.mark = ","), files))

cl <- readmit_connect(opt$endpoint, timeout_ms = 60000)
on.exit(readmit_close(cl))
health <- tryCatch(readmit_health(cl), readmit_timeout = function(e) {
  stop("no readmitd answers at ", opt$endpoint, " (start it first)", call. = FALSE)
})
if (!health$ready) stop("readmitd at ", opt$endpoint, " has no model loaded", call. = FALSE)
info <- readmit_info(cl)
fields <- readmit_raw_fields(cl)
cat(sprintf("model %s (%d raw fields, %d of them history), created %s\n", info$model_id,
            nrow(fields), sum(fields$history), info$created_at))
absent <- setdiff(fields$name[fields$history], names(cohort))
if (length(absent)) {
  cat(sprintf("the cohort has no history fields (%s): history is unknown for every row\n",
              paste(absent, collapse = ", ")))
}

# One call: scores, per-row errors and warnings, and the top-k explanations. The daemon's
# warnings come as one readmit_data_warning; print its summary and go on.
t0 <- Sys.time()
scores <- withCallingHandlers(readmit_score_records(cl, cohort, k = as.integer(opt$k)),
                              readmit_data_warning = function(w) {
  cat("daemon:", conditionMessage(w), "\n")
  invokeRestart("muffleWarning")
})
elapsed <- as.numeric(Sys.time() - t0, units = "secs")
bad <- !is.na(scores$error)
cat(sprintf("scored %s rows in %.2f s (%d rows not scored)\n\n", format(nrow(scores), big.mark = ","),
            elapsed, sum(bad)))
if (any(bad)) print(utils::head(data.frame(row = which(bad), error = scores$error[bad]), 5), row.names = FALSE)

ok <- scores[!bad, , drop = FALSE]
cat("risk tiers:\n")
tiers <- table(ok$tier)
print(data.frame(tier = names(tiers), patients = as.vector(tiers),
                 share = sprintf("%.1f%%", 100 * as.vector(tiers) / nrow(ok)),
                 mean_risk = sprintf("%.3f", tapply(ok$risk, ok$tier, mean)[names(tiers)])),
      row.names = FALSE)

# The first column of the cohort identifies the row (an encounter id in `readmit history` output).
top <- utils::head(order(scores$risk, decreasing = TRUE, na.last = NA), as.integer(opt$top))
cat(sprintf("\ntop %d patients by 30-day readmission risk:\n", length(top)))
print(data.frame(id = cohort[[1]][top],
                 risk = sprintf("%.3f", scores$risk[top]),
                 tier = scores$tier[top],
                 atypicality = sprintf("%.3f", scores$atypicality[top]),
                 top_factors = if (is.null(scores$explanation)) "" else scores$explanation[top]),
      row.names = FALSE, right = FALSE)

if (nzchar(opt$out)) {
  out <- data.frame(id = cohort[[1]], scores[, c("risk", "atypicality", "tier", "error")])
  names(out)[1] <- names(cohort)[1]
  # 17 significant digits: the numbers read back exactly.
  out$risk <- ifelse(is.na(out$risk), "", sprintf("%.17g", out$risk))
  out$atypicality <- ifelse(is.na(out$atypicality), "", sprintf("%.17g", out$atypicality))
  utils::write.csv(out, opt$out, row.names = FALSE, na = "")
  cat(sprintf("\nwrote %s\n", opt$out))
}
