/// The `readmitted` column of the data set.
public enum Readmission: String, Sendable, CaseIterable {
    /// Not readmitted.
    case no = "NO"
    /// Readmitted after more than 30 days.
    case after30 = ">30"
    /// Readmitted within 30 days: the positive label.
    case within30 = "<30"

    /// Whether this is the positive outcome (readmitted within 30 days).
    public var isPositive: Bool { self == .within30 }
}
