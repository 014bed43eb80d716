/// Names of the scalar components of a variable, the one rule every module uses (the `.mci`
/// META section, VTU arrays, metrics): `name` for a scalar, `name_x/_y/_z` for a 3-vector,
/// `name_0 … name_<k-1>` otherwise (docs/mci-format.md, META).
public func componentNames(variable name: String, components: Int) -> [String] {
    if components == 1 { return [name] }
    if components == 3 { return ["x", "y", "z"].map { "\(name)_\($0)" } }
    return (0..<components).map { "\(name)_\($0)" }
}
