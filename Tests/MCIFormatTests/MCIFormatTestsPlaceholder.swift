import XCTest
final class MCIFormatTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
