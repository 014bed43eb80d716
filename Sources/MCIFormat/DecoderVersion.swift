import CMCINR

extension MCIDecoder {
    /// The C decoder library's version (mcinr_version()); the product carries the same number.
    public static var libraryVersion: String { String(cString: mcinr_version()) }
}
