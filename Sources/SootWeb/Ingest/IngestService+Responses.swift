import Emissions
import Foundation
import HTTPServer
import SootStore

extension IngestService {
    /// One sample through group commit, answered when committed: 201 with the sample's id, or the error.
    func acceptLater(_ measure: SampleMeasure, placement: RunPlacement, request: Request, caller: Caller) -> Response {
        // Errors are shaped by the request's head alone; the body is not kept until the commit.
        let head = request.head
        return .later { [self] promise in
            submit(measure, placement: placement) { result in
                var response: Response
                switch result {
                case .success(let id): response = Self.created(id)
                case .failure(let error): response = AppError.response(for: error, request: Request(head: head))
                }
                response.note(caller, organization: placement.organizationID)
                promise.succeed(response)
            }
        }
    }

    /// 201 with the sample's id as a JSON string, like `.json(.id(id), status: .created)` but written directly
    /// (one per ingested sample; a UUID's text never needs escaping).
    static func created(_ id: UUID) -> Response {
        let bytes = [UInt8](unsafeUninitializedCapacity: 38) { out, count in
            out[0] = UInt8(ascii: "\"")
            id.writeIDText(into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: out[1..<37])))
            out[37] = UInt8(ascii: "\"")
            count = 38
        }
        return .json(bytes: bytes, status: .created)
    }
}
