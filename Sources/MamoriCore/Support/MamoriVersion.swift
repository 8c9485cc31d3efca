public enum MamoriVersion {
    public static let current = "0.1.0"
}
