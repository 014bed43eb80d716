import XCTest
final class MeshIOTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
