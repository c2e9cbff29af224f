# The R side of scripts/tests/45-dirty-parity.sh: readmit_read_records + readmit_score_records
# against the daemon, normalized as tests/dirty-parity/score_csv.c writes it (rows 0-based).
#   Rscript score.R ENDPOINT OPTIONS IN.csv OUT.tsv
args <- commandArgs(TRUE)
suppressPackageStartupMessages(library(readmit))
options <- as.integer(args[2])
cl <- readmit_connect(args[1], timeout_ms = 20000)
recs <- readmit_read_records(args[3])
res <- withCallingHandlers(
  readmit_score_records(cl, recs, bad_values = if (bitwAnd(options, 2L)) "missing" else "error",
                        missing_fields = if (bitwAnd(options, 1L)) "missing" else "error"),
  readmit_data_warning = function(w) invokeRestart("muffleWarning"))
m <- attr(res, "messages")
text <- sprintf("%s|%s|%s|%s", m$severity, ifelse(is.na(m$field), "", m$field), m$code, m$message)
joined <- function(keep) paste(sort(text[keep], method = "radix"), collapse = " || ")
rows <- vapply(seq_len(nrow(res)), function(i) {
  scored <- is.na(res$error[i])
  sprintf("%d\t%s\t%s\t%s", i - 1L, if (scored) sprintf("%.17g", res$risk[i]) else "",
          if (scored) as.character(res$tier[i]) else "", joined(!is.na(m$row) & m$row == i))
}, "")
con <- file(args[4], "wb")
writeLines(enc2utf8(c(rows, sprintf("request\t\t\t%s", joined(is.na(m$row))))), con, useBytes = TRUE)
close(con)
readmit_close(cl)
