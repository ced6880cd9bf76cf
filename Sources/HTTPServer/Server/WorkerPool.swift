/// Threads that run blocking handlers, fed from one FIFO queue.
final class WorkerPool: @unchecked Sendable {
    // Safety: `jobs`, `head` and `stopping` are guarded by `lock`.
    private let lock = ConditionLock()
    private var jobs: [(@Sendable () -> Void)?] = []
    private var head = 0
    private var stopping = false
    private var threads: [ThreadHandle] = []

    init(threads count: Int, namePrefix: String = "http") {
        for index in 0..<max(1, count) {
            threads.append(ThreadHandle.spawn(name: "\(namePrefix)-worker-\(index)") { [self] in run() })
        }
    }

    /// Queues `job`; it runs on the first free worker.
    func submit(_ job: @escaping @Sendable () -> Void) {
        lock.lock()
        jobs.append(job)
        lock.unlock()
        lock.signal()
    }

    private func run() {
        while true {
            lock.lock()
            while head == jobs.count && !stopping { lock.wait() }
            if head == jobs.count && stopping {
                lock.unlock()
                return
            }
            let job = jobs[head]
            jobs[head] = nil
            head += 1
            if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            lock.unlock()
            job?()
        }
    }

    /// Finishes queued jobs, then stops and joins every worker.
    func stop() {
        lock.withLock { stopping = true }
        lock.broadcast()
        for thread in threads { thread.join() }
    }
}
