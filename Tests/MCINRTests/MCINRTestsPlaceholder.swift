import XCTest
final class MCINRTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
