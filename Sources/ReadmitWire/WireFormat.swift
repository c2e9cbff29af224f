/// Fixed constants of the readmitd wire protocol, version 2 (see docs/PROTOCOL.md).
public enum WireFormat {
    /// The four bytes every request and reply header starts with: ASCII `RDMT`.
    public static let magic: [UInt8] = [0x52, 0x44, 0x4D, 0x54]
    /// The protocol version this codec speaks.
    public static let version: UInt8 = 2
    /// Size of a request header in bytes.
    public static let requestHeaderSize = 16
    /// Size of a reply header in bytes.
    public static let replyHeaderSize = 24
    /// Size of the SCORE request counts frame (`u32 n_rows, u32 n_cols`).
    public static let scoreCountsSize = 8
    /// Size of the EXPLAIN request counts frame (`u32 n_rows, u32 n_cols, u32 k, u32 reserved`).
    public static let explainCountsSize = 16
    /// Size of the error location frame (`i32 row, i32 feature`).
    public static let errorLocationSize = 8
    /// Request flag bit 0: STATS replies in Prometheus text format.
    public static let flagPrometheus: UInt16 = 1
    /// Request flag bit 1: SCORE replies carry each risk's interval (two more frames).
    public static let flagInterval: UInt16 = 2
    /// The default `--max-rows`.
    public static let defaultMaxRows = 1_000_000
}
