import Testing

@Suite struct ServerSmokeTests {
    @Test func placeholder() {
        #expect(1 + 1 == 2)
    }
}
