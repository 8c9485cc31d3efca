internal import CPAM

/// Erases byte buffers that held a code. Swift strings made from the code cannot be erased;
/// the arrays and the C reply (mamori_pam_free_response) can, so they are.
enum Secret {
    static func erase(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in mamori_secure_zero(raw.baseAddress, raw.count) }
    }
}
