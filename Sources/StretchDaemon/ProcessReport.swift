import ControlProtocol
import StretchSystem

#if canImport(Glibc)
import Glibc
#endif

/// This process's resource use so far (`getrusage(RUSAGE_SELF)` covers every thread, ended ones included).
public func processReport() -> ProcessReport {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
    // /proc/self/statm: size and resident, in pages.
    var resident = 0
    if case .success(let statm) = Files.readText("/proc/self/statm") {
        resident = (Int(statm.split(separator: " ").dropFirst().first ?? "") ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    }
    return ProcessReport(residentKiB: resident, cpuSeconds: cpu, contextSwitches: usage.ru_nvcsw + usage.ru_nivcsw)
}
