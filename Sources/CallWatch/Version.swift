public enum CallWatchVersion {
    public static let current = "0.1.0"
}
