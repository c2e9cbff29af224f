/// Colours of the charts: the Okabe-Ito palette, distinguishable with the common forms of
/// colour blindness and dark enough on white (yellow is left out for contrast).
enum Palette {
    /// Series colours in order; the served model always takes the first.
    static let series = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
    /// Positive outcome bars.
    static let positive = "#D55E00"
    /// Negative outcome bars.
    static let negative = "#0072B2"
    /// Reference lines (chance diagonal, baselines).
    static let reference = "#7F7F7F"
    /// Grid lines.
    static let grid = "#E5E5E5"
    /// Axis lines and text.
    static let ink = "#222222"
}
