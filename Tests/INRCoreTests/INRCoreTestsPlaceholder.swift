import XCTest
final class INRCoreTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
