# JSON replies (INFO, STATS, RELOAD) are read by the C library's own JSON reader (rm_json.c,
# compiled into the package) and turned into R values by src/rreadmit.c.

test_that("objects, arrays and scalars map to R values", {
  x <- readmit:::parse_json('{"a": 1, "b": [1, 2.5, -3e2], "c": ["x", "y"], "d": true,
                              "e": null, "f": [], "g": [{"h": "i"}], "j": [1, "k"], "l": {}}')
  expect_identical(names(x), c("a", "b", "c", "d", "e", "f", "g", "j", "l"))
  expect_identical(x$a, 1)
  expect_identical(x$b, c(1, 2.5, -300))
  expect_identical(x$c, c("x", "y"))
  expect_true(x$d)
  expect_null(x$e)
  expect_identical(x$f, list())
  expect_identical(x$g, list(list(h = "i")))
  expect_identical(x$j, list(1, "k"))
  expect_identical(length(x$l), 0L)
})

test_that("string escapes decode to UTF-8", {
  x <- readmit:::parse_json('["a\\"b\\\\c\\/d\\n", "\\u00e9\\u20ac", "\\ud83d\\ude00", "[0-10)"]')
  expect_identical(x[1], "a\"b\\c/d\n")
  expect_identical(x[2], "\u00e9\u20ac")
  expect_identical(x[3], "\U0001F600")
  expect_identical(x[4], "[0-10)")
  expect_identical(Encoding(x[2]), "UTF-8")
})

test_that("numbers read back exactly", {
  expect_identical(readmit:::parse_json("0.1"), 0.1)
  expect_identical(readmit:::parse_json("[0.12, 1e-300, 123456789012]"), c(0.12, 1e-300, 123456789012))
})

test_that("malformed JSON is an error saying what is wrong", {
  expect_error(readmit:::parse_json('{"a": 1'), "invalid JSON")
  expect_error(readmit:::parse_json('{"a": 1} x'), "trailing characters")
  expect_error(readmit:::parse_json('[1, 2,]'), "invalid JSON")
  expect_error(readmit:::parse_json('"abc'), "unterminated string")
  expect_error(readmit:::parse_json('["\\ud800"]'), "surrogate")
  expect_error(readmit:::parse_json(strrep("[", 1000)), "nesting too deep")
  expect_error(readmit:::parse_json(NA_character_), "single string")
})

test_that("an INFO-shaped reply parses into the schema shape", {
  info <- readmit:::parse_json('{"model_id": "00ab", "n_features": 2, "tiers": [{"name": "low",
    "min_risk": 0}, {"name": "high", "min_risk": 0.5}], "features": [{"index": 0, "name": "a",
    "kind": "numeric"}, {"index": 1, "name": "b", "kind": "categorical", "levels": ["[0-10)",
    "[10-20)"]}]}')
  expect_identical(info$n_features, 2)
  expect_length(info$features, 2)
  expect_identical(info$features[[2]]$name, "b")
  expect_identical(info$features[[2]]$levels, c("[0-10)", "[10-20)"))
  expect_identical(vapply(info$tiers, `[[`, "", "name"), c("low", "high"))
})
