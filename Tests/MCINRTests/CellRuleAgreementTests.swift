import CMCINR
import MeshIO
import XCTest

/// What train accepts and export writes (MeshIO's cell rule) is what the decoder's table —
/// which the ParaView reader and the Python package check cells with — accepts.
final class CellRuleAgreementTests: XCTestCase {
    func testMeshIORuleEqualsTheDecoderTable() {
        var supported = 0
        for type in 0...255 {
            var minimum: Int32 = -1
            let exact = mcinr_cell_point_count(UInt8(type), &minimum)
            let rule = Mesh.pointCountRule(UInt8(type))
            if exact < 0 {
                XCTAssertNil(rule, "type \(type)")
                continue
            }
            supported += 1
            XCTAssertEqual(rule?.exact, exact == 0 ? nil : Int(exact), "type \(type)")
            XCTAssertEqual(rule?.minimum, Int(minimum), "type \(type)")
        }
        XCTAssertEqual(supported, 23, "16 linear types (1–16) and 7 quadratic ones (21–27)")
    }
}
