#' readmit: score 30-day readmission risk with a running readmitd
#'
#' A client for the \code{readmitd} scoring daemon, built on the project's C client library
#' (libreadmit, compiled into this package). Connect with \code{\link{readmit_connect}},
#' score data frames of raw columns with \code{\link{readmit_score}} or
#' \code{\link{readmit_score_frame}}, explain with \code{\link{readmit_explain}}, close with
#' \code{\link{readmit_close}}. Errors are conditions of class \code{readmit_error}.
#'
#' @useDynLib readmit, .registration = TRUE
#' @keywords internal
"_PACKAGE"
