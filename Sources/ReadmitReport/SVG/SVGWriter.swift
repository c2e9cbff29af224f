// The charts are SVG written by hand: there is no maintained Swift plotting or SVG library
// that works on Linux without a browser, Cairo or Python, and the charts need only lines,
// rectangles and text. Every number goes through NumberFormat and every string through
// TextEscaping, so the output is well-formed and byte-for-byte deterministic.

/// Accumulates the elements of one SVG image.
struct SVGWriter {
    let width: Double
    let height: Double
    let id: String
    let title: String
    let summary: String
    private var elements: [String] = []

    /// `id` prefixes every element id, so several charts can be inlined in one HTML page.
    init(width: Double, height: Double, id: String, title: String, summary: String) {
        self.width = width
        self.height = height
        self.id = id
        self.title = title
        self.summary = summary
    }

    private typealias F = NumberFormat

    /// A straight line.
    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double,
                       stroke: String, width: Double = 1, dash: String? = nil) {
        var s = "<line x1=\"\(F.coord(x1))\" y1=\"\(F.coord(y1))\" x2=\"\(F.coord(x2))\" y2=\"\(F.coord(y2))\""
        s += " stroke=\"\(stroke)\" stroke-width=\"\(F.coord(width))\""
        if let dash { s += " stroke-dasharray=\"\(dash)\"" }
        elements.append(s + "/>")
    }

    /// A filled rectangle; negative sizes are normalised so the markup stays valid. `legend`
    /// marks a legend's colour sample (`class="legend"`), so that a check of the rendered page
    /// (Tests/report) can tell the data drawn from the legend.
    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double,
                       fill: String, opacity: Double? = nil, stroke: String? = nil, label: String? = nil, legend: Bool = false) {
        let x0 = w < 0 ? x + w : x, y0 = h < 0 ? y + h : y
        var s = "<rect"
        if legend { s += " class=\"legend\"" }
        s += " x=\"\(F.coord(x0))\" y=\"\(F.coord(y0))\" width=\"\(F.coord(abs(w)))\" height=\"\(F.coord(abs(h)))\" fill=\"\(fill)\""
        if let opacity { s += " fill-opacity=\"\(F.coord(opacity))\"" }
        if let stroke { s += " stroke=\"\(stroke)\"" }
        if let label {
            s += "><title>\(TextEscaping.escape(label))</title></rect>"
        } else {
            s += "/>"
        }
        elements.append(s)
    }

    /// A polyline through pixel points.
    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double,
                           dash: String? = nil, clipID: String? = nil) {
        guard !points.isEmpty else { return }
        let pts = points.map { "\(F.coord($0.0)),\(F.coord($0.1))" }.joined(separator: " ")
        var s = "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(F.coord(width))\" stroke-linejoin=\"round\""
        if let dash { s += " stroke-dasharray=\"\(dash)\"" }
        if let clipID { s += " clip-path=\"url(#\(clipID))\"" }
        elements.append(s + "/>")
    }

    /// A circle marker.
    mutating func circle(_ cx: Double, _ cy: Double, r: Double, fill: String, label: String? = nil) {
        var s = "<circle cx=\"\(F.coord(cx))\" cy=\"\(F.coord(cy))\" r=\"\(F.coord(r))\" fill=\"\(fill)\""
        if let label {
            s += "><title>\(TextEscaping.escape(label))</title></circle>"
        } else {
            s += "/>"
        }
        elements.append(s)
    }

    /// Text anchored at (x, y); `rotate` turns it about that point (degrees).
    mutating func text(_ x: Double, _ y: Double, _ string: String, anchor: String = "start",
                       size: Double = 12, bold: Bool = false, fill: String = Palette.ink,
                       rotate: Double? = nil) {
        var s = "<text x=\"\(F.coord(x))\" y=\"\(F.coord(y))\" font-size=\"\(F.coord(size))\" text-anchor=\"\(anchor)\" fill=\"\(fill)\""
        if bold { s += " font-weight=\"bold\"" }
        if let rotate { s += " transform=\"rotate(\(F.coord(rotate)) \(F.coord(x)) \(F.coord(y)))\"" }
        elements.append(s + ">\(TextEscaping.escape(string))</text>")
    }

    /// A rectangular clip region named `"\(id)-\(suffix)"`; returns that id.
    mutating func clipRect(_ suffix: String, _ x: Double, _ y: Double, _ w: Double, _ h: Double) -> String {
        let clip = "\(id)-\(suffix)"
        elements.append("<defs><clipPath id=\"\(clip)\"><rect x=\"\(F.coord(x))\" y=\"\(F.coord(y))\" width=\"\(F.coord(w))\" height=\"\(F.coord(h))\"/></clipPath></defs>")
        return clip
    }

    static let declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    static let namespace = " xmlns=\"http://www.w3.org/2000/svg\""

    /// The inline form of a standalone rendering (``render(standalone:)`` with `false`), or nil
    /// when `svg` does not start as a standalone rendering does.
    static func inlineForm(ofStandalone svg: String) -> String? {
        let head = declaration + "<svg" + namespace
        guard svg.utf8.starts(with: head.utf8) else { return nil }
        return "<svg" + String(decoding: svg.utf8.dropFirst(head.utf8.count), as: UTF8.self)
    }

    /// The finished image. `standalone` adds the XML declaration and the SVG namespace
    /// (needed in a .svg file, implied when inlined in HTML).
    func render(standalone: Bool) -> String {
        var out = standalone ? Self.declaration : ""
        out += "<svg"
        if standalone { out += Self.namespace }
        out += " width=\"\(F.coord(width))\" height=\"\(F.coord(height))\" viewBox=\"0 0 \(F.coord(width)) \(F.coord(height))\""
        out += " role=\"img\" aria-labelledby=\"\(id)-title \(id)-desc\""
        out += " font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
        out += "<title id=\"\(id)-title\">\(TextEscaping.escape(title))</title>\n"
        out += "<desc id=\"\(id)-desc\">\(TextEscaping.escape(summary))</desc>\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(F.coord(width))\" height=\"\(F.coord(height))\" fill=\"#FFFFFF\"/>\n"
        for e in elements { out += e + "\n" }
        out += "</svg>\n"
        return out
    }
}
