#!/usr/bin/env Rscript
# Scores a cohort from a CSV file (the raw columns of the Diabetes 130-US data, e.g. a copy in
# data/diabetes130/diabetic_data.csv.gz or the shared ../shared/data/diabetes130/diabetic_data.csv.gz;
# the data is not in the repository, see data/diabetes130/README.md) against a running readmitd,
# and prints the patients with the highest 30-day readmission risk with the features that drive it.
#
#   readmitd --model output/model.readmit --endpoint tcp://127.0.0.1:5555 &
#   Rscript bindings/r/examples/score_cohort.R data/diabetes130/diabetic_data.csv.gz \
#       --endpoint tcp://127.0.0.1:5555 --top 10 --out output/scored.csv
#
# Needs the package: R CMD INSTALL bindings/r

args <- commandArgs(trailingOnly = TRUE)
opt <- list(endpoint = "tcp://127.0.0.1:5555", top = "10", out = "", k = "3")
files <- character()
i <- 1L
while (i <= length(args)) {
  a <- args[[i]]
  if (a %in% c("-h", "--help")) {
    cat("usage: score_cohort.R COHORT.csv[.gz] [--endpoint E] [--top N] [--k K] [--out FILE]\n")
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
if (length(files) != 1L) stop("give one cohort CSV file (see --help)")

suppressPackageStartupMessages(library(readmit))

# "?" is missing; "None" (test not performed) is a real category, so it must stay text.
cohort <- utils::read.csv(files, na.strings = "?", stringsAsFactors = FALSE, check.names = FALSE)
cat(sprintf("cohort: %s rows from %s\n", format(nrow(cohort), big.mark = ","), files))

cl <- readmit_connect(opt$endpoint, timeout_ms = 30000)
on.exit(readmit_close(cl))
health <- tryCatch(readmit_health(cl), readmit_timeout = function(e) {
  stop("no readmitd answers at ", opt$endpoint, " (start it first)", call. = FALSE)
})
if (!health$ready) stop("readmitd at ", opt$endpoint, " has no model loaded", call. = FALSE)
info <- readmit_info(cl)
cat(sprintf("model %s (%d features), created %s\n", info$model_id, length(info$features),
            info$created_at))

# Encode once and reuse the matrix for scores and explanations; report what became missing.
x <- withCallingHandlers(readmit_encode(cl, cohort), readmit_encode_warning = function(w) {
  cat("encode:", conditionMessage(w), "\n")
  invokeRestart("muffleWarning")
})
t0 <- Sys.time()
scores <- readmit_score_frame(cl, x)
elapsed <- as.numeric(Sys.time() - t0, units = "secs")
cat(sprintf("scored %s rows in %.2f s\n\n", format(nrow(x), big.mark = ","), elapsed))

cat("risk tiers:\n")
tiers <- table(scores$tier)
print(data.frame(tier = names(tiers), patients = as.vector(tiers),
                 share = sprintf("%.1f%%", 100 * as.vector(tiers) / nrow(scores)),
                 mean_risk = sprintf("%.3f", tapply(scores$risk, scores$tier, mean)[names(tiers)])),
      row.names = FALSE)

top <- head(order(scores$risk, decreasing = TRUE), as.integer(opt$top))
why <- readmit_explain(cl, x[top, , drop = FALSE], k = as.integer(opt$k))
drivers <- tapply(sprintf("%s (%+.2f)", why$feature, why$contribution), why$row, paste, collapse = ", ")
id <- if ("encounter_id" %in% names(cohort)) cohort$encounter_id[top] else top
cat(sprintf("\ntop %d patients by 30-day readmission risk:\n", length(top)))
print(data.frame(encounter_id = id,
                 age = if ("age" %in% names(cohort)) cohort$age[top] else NA,
                 risk = sprintf("%.3f", scores$risk[top]),
                 tier = scores$tier[top],
                 atypicality = sprintf("%.3f", scores$atypicality[top]),
                 top_factors = unname(drivers[as.character(seq_along(top))])),
      row.names = FALSE, right = FALSE)

if (nzchar(opt$out)) {
  out <- data.frame(encounter_id = if ("encounter_id" %in% names(cohort)) cohort$encounter_id
                                   else seq_len(nrow(cohort)),
                    scores)
  # 17 significant digits: the numbers read back exactly.
  out$risk <- sprintf("%.17g", out$risk)
  out$atypicality <- sprintf("%.17g", out$atypicality)
  utils::write.csv(out, opt$out, row.names = FALSE, quote = FALSE)
  cat(sprintf("\nwrote %s\n", opt$out))
}
