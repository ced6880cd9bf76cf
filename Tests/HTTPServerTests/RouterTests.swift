import HTTPServer
import Testing

@Suite struct RouterTests {
    func router() -> Responder {
        var router = Router()
        router.get("/o/:org") { _ in .text("org") }
        router.get("/o/:org/:team") { request in .text("team \(request.parameter("team") ?? "")") }
        router.post("/o/:org/teams") { _ in .text("create team") }
        router.get("/files/*path") { request in .text(request.parameter("path") ?? "") }
        return router.build()
    }

    func name(_ match: Responder.Match) -> String {
        switch match {
        case .found(let route, let parameters): return "\(route.method) \(route.pattern) \(parameters.sorted { $0.key < $1.key })"
        case .methodNotAllowed(let allowed): return "405 \(allowed.map(\.rawValue))"
        case .notFound: return "404"
        case .badPath: return "400"
        }
    }

    @Test func literalsWinUnlessOnlyTheParameterHasTheMethod() {
        let responder = router()
        #expect(name(responder.match(.post, path: "/o/acme/teams")).hasPrefix("POST /o/:org/teams"))
        // A team whose slug is "teams" is still reachable with GET.
        #expect(name(responder.match(.get, path: "/o/acme/teams")) == "GET /o/:org/:team [(key: \"org\", value: \"acme\"), (key: \"team\", value: \"teams\")]")
        #expect(name(responder.match(.head, path: "/o/acme/teams")).hasPrefix("GET /o/:org/:team"))
        #expect(name(responder.match(.delete, path: "/o/acme/teams")) == "405 [\"OPTIONS\", \"POST\"]")
        #expect(name(responder.match(.get, path: "/files/a/b%20c")).hasSuffix("[(key: \"path\", value: \"a/b c\")]"))
        #expect(name(responder.match(.get, path: "/nothing")) == "404")
        #expect(name(responder.match(.get, path: "/o/%zz")) == "400")
        #expect(name(responder.match(.get, path: "//o//acme//")).hasPrefix("GET /o/:org "))
    }
}
