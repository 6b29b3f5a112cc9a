import Foundation
import Yams

/// Checks for rules that load but can never work as written: a misspelt `by` field, a value 8x8 never sends, text
/// compared with a number. They run once, when the rules load.
extension RulesCompiler {
    /// A `by` field. One that is not documented but is close to a documented one is an error, not the warning an
    /// unknown `when` field gets: every event lacks it, so all of them share one key and page as one.
    mutating func byFieldPath(_ name: String, _ node: Node, rule: String, context: String) -> FieldPath {
        let path = FieldPath(name)
        var components = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.isDocumented, let first = components.first,
            let closest = Suggestion.closest(to: first, in: FieldPath.documentedNames)
        else {
            return fieldPath(name, node, context: context)
        }
        components[0] = closest
        let owner = rule.isEmpty ? "" : " of rule '\(rule)'"
        reader.error(
            node,
            "unknown field '\(name)' in 'by'\(owner); did you mean '\(components.joined(separator: "."))'?"
                + " (a misspelt 'by' field puts every event under one key)"
        )
        return path
    }

    /// A constant that `field` is compared with for equality (`field: value`, `eq`, `ne`, `in`, `not_in`).
    mutating func checkEquality(_ scalar: Scalar, _ node: Node, field: String, context: String) {
        guard !scalar.isNull else { return }
        if let values = DocumentedValues.values(of: field), !values.contains(scalar.string) {
            let hint =
                Suggestion.closest(to: scalar.string, in: values).map { "; did you mean '\($0)'?" }
                ?? "; 8x8 documents \(values.joined(separator: ", "))"
            reader.warning(node, "unknown \(field) '\(scalar.string)'\(context)\(hint)")
        }
        if DocumentedValues.isNumeric(field), scalar.number == nil, JSONValue.parseNumber(scalar.string) == nil {
            let hint = Self.operatorForm(scalar.string).map { "; to compare, write \($0)" } ?? ""
            reader.error(node, "'\(scalar.string)' is not a number, so '\(field)' never equals it\(context)\(hint)")
        }
    }

    /// The operator a comparison written as text meant: `>= 400` → `{gte: 400}`; nil unless the text is an operator
    /// and a number.
    static func operatorForm(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let forms = [(">=", "gte"), ("<=", "lte"), ("!=", "ne"), ("==", "eq"), (">", "gt"), ("<", "lt"), ("=", "eq")]
        guard let (symbol, name) = forms.first(where: { trimmed.hasPrefix($0.0) }) else { return nil }
        let operand = trimmed.dropFirst(symbol.count).trimmingCharacters(in: .whitespaces)
        guard JSONValue.parseNumber(operand) != nil else { return nil }
        return "{\(name): \(operand)}"
    }
}
