import Foundation

/// A node of the small XML subset VTK writes: elements, attributes, text. Byte ranges of the
/// text are kept instead of strings, so that megabytes of inline ascii/base64 data are never
/// copied into Swift strings.
final class XMLNode {
    let name: String
    let attributes: [String: String]
    /// Where the start tag begins in the file (for error messages and for cutting the file).
    let tagStart: Int
    /// Byte offset just after the start tag's `>`.
    let contentStart: Int
    var children: [XMLNode] = []
    /// Byte ranges of the text directly inside this element (not inside children).
    var textRanges: [Range<Int>] = []
    /// False when the file ended before the element's end tag.
    var closed = false

    init(name: String, attributes: [String: String], tagStart: Int, contentStart: Int) {
        self.name = name
        self.attributes = attributes
        self.tagStart = tagStart
        self.contentStart = contentStart
    }

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
}

/// A tolerant, allocation-light parser for the XML head of VTK files. It parses bytes
/// `range` of `bytes`; elements still open when the range ends are returned with
/// `closed == false` (the appended-data case cuts the file inside `<VTKFile>`).
enum LightXML {
    private static let lt = UInt8(ascii: "<"), gt = UInt8(ascii: ">"), slash = UInt8(ascii: "/")
    private static let question = UInt8(ascii: "?"), bang = UInt8(ascii: "!"), eq = UInt8(ascii: "=")
    private static let dquote = UInt8(ascii: "\""), squote = UInt8(ascii: "'")

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    private static func find(_ buf: UnsafeBufferPointer<UInt8>, _ pattern: [UInt8], from: Int, end: Int) -> Int? {
        guard let first = pattern.first, pattern.count <= end - from else { return nil }
        var i = from
        let last = end - pattern.count
        while i <= last {
            if buf[i] == first {
                var k = 1
                while k < pattern.count && buf[i + k] == pattern[k] { k += 1 }
                if k == pattern.count { return i }
            }
            i += 1
        }
        return nil
    }

    /// The root of a small VTK XML file (`.pvd`, `.pvtu`), checked: `<VTKFile type="…">` of
    /// the expected type, closed.
    static func parseVTKFile(_ url: URL, type expected: String) throws -> XMLNode {
        let file = url.path
        let mapped = try MappedFile(url)
        let root = try withExtendedLifetime(mapped) { try parse(mapped.buffer, range: 0..<mapped.buffer.count, file: file) }
        guard root.name == "VTKFile", root.attributes["type"] == expected else {
            throw MeshIOError.wrongFileType(file: file, expected: expected,
                                            found: root.name == "VTKFile" ? root.attributes["type"] ?? "" : root.name)
        }
        guard root.closed else { throw MeshIOError.truncated(file: file, detail: "the XML ends before </VTKFile>") }
        return root
    }

    /// Parses and returns the single root element.
    static func parse(_ buf: UnsafeBufferPointer<UInt8>, range: Range<Int>, file: String) throws -> XMLNode {
        var stack: [XMLNode] = []
        var root: XMLNode?
        var i = range.lowerBound
        let end = min(range.upperBound, buf.count)
        func truncated(_ what: String) -> MeshIOError {
            .truncated(file: file, detail: "the XML ends inside \(what)")
        }
        while i < end {
            // Text up to the next tag.
            var j = i
            while j < end && buf[j] != lt { j += 1 }
            if j > i, let top = stack.last { top.textRanges.append(i..<j) }
            if j >= end { break }
            i = j
            guard i + 1 < end else { throw truncated("a tag") }
            let next = buf[i + 1]
            if next == question {                       // <?xml ... ?>
                guard let e = find(buf, Array("?>".utf8), from: i + 2, end: end) else { throw truncated("a processing instruction") }
                i = e + 2
                continue
            }
            if next == bang {
                if find(buf, Array("<!--".utf8), from: i, end: min(end, i + 4)) == i {
                    guard let e = find(buf, Array("-->".utf8), from: i + 4, end: end) else { throw truncated("a comment") }
                    i = e + 3
                } else if find(buf, Array("<![CDATA[".utf8), from: i, end: min(end, i + 9)) == i {
                    guard let e = find(buf, Array("]]>".utf8), from: i + 9, end: end) else { throw truncated("a CDATA section") }
                    stack.last?.textRanges.append((i + 9)..<e)
                    i = e + 3
                } else {
                    guard let e = find(buf, [gt], from: i, end: end) else { throw truncated("a declaration") }
                    i = e + 1
                }
                continue
            }
            if next == slash {                          // </name>
                var k = i + 2
                while k < end && buf[k] != gt && !isSpace(buf[k]) { k += 1 }
                let name = String(decoding: UnsafeBufferPointer(rebasing: buf[(i + 2)..<k]), as: UTF8.self)
                while k < end && buf[k] != gt { k += 1 }
                guard k < end else { throw truncated("the end tag </\(name)>") }
                guard let top = stack.last else {
                    throw MeshIOError.malformedXML(file: file, detail: "unexpected </\(name)> at byte \(i)")
                }
                guard top.name == name else {
                    throw MeshIOError.malformedXML(file: file, detail: "</\(name)> closes <\(top.name)> at byte \(i)")
                }
                top.closed = true
                stack.removeLast()
                i = k + 1
                continue
            }
            // Start tag.
            let tagStart = i
            var k = i + 1
            while k < end && !isSpace(buf[k]) && buf[k] != gt && buf[k] != slash { k += 1 }
            guard k > i + 1 else { throw MeshIOError.malformedXML(file: file, detail: "empty tag name at byte \(i)") }
            let name = String(decoding: UnsafeBufferPointer(rebasing: buf[(i + 1)..<k]), as: UTF8.self)
            var attributes: [String: String] = [:]
            var selfClosing = false
            while true {
                while k < end && isSpace(buf[k]) { k += 1 }
                guard k < end else { throw truncated("the tag <\(name)>") }
                if buf[k] == gt { k += 1; break }
                if buf[k] == slash {
                    guard k + 1 < end else { throw truncated("the tag <\(name)>") }
                    guard buf[k + 1] == gt else {
                        throw MeshIOError.malformedXML(file: file, detail: "stray '/' in <\(name)> at byte \(k)")
                    }
                    selfClosing = true
                    k += 2
                    break
                }
                let nameStart = k
                while k < end && !isSpace(buf[k]) && buf[k] != eq && buf[k] != gt && buf[k] != slash { k += 1 }
                let attrName = String(decoding: UnsafeBufferPointer(rebasing: buf[nameStart..<k]), as: UTF8.self)
                while k < end && isSpace(buf[k]) { k += 1 }
                guard k < end else { throw truncated("the tag <\(name)>") }
                guard buf[k] == eq, !attrName.isEmpty else {
                    throw MeshIOError.malformedXML(file: file, detail: "attribute without value in <\(name)> at byte \(k)")
                }
                k += 1
                while k < end && isSpace(buf[k]) { k += 1 }
                guard k < end else { throw truncated("the tag <\(name)>") }
                let quote = buf[k]
                guard quote == dquote || quote == squote else {
                    throw MeshIOError.malformedXML(file: file, detail: "unquoted value of '\(attrName)' in <\(name)>")
                }
                k += 1
                let valueStart = k
                while k < end && buf[k] != quote { k += 1 }
                guard k < end else { throw truncated("the tag <\(name)>") }
                let raw = String(decoding: UnsafeBufferPointer(rebasing: buf[valueStart..<k]), as: UTF8.self)
                attributes[attrName] = decodeEntities(raw)
                k += 1
            }
            let node = XMLNode(name: name, attributes: attributes, tagStart: tagStart, contentStart: k)
            if let top = stack.last {
                top.children.append(node)
            } else if root == nil {
                root = node
            } else {
                throw MeshIOError.malformedXML(file: file, detail: "a second root element <\(name)>")
            }
            if selfClosing { node.closed = true } else { stack.append(node) }
            i = k
        }
        guard let r = root else { throw MeshIOError.malformedXML(file: file, detail: "no root element") }
        return r
    }

    static func decodeEntities(_ s: String) -> String {
        guard s.contains("&") else { return s }
        return s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
