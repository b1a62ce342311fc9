// The deployment artefacts, read by the parsers that will consume them:
// Kubernetes manifests and the kustomization, the ConfigMap's kscope.yml
// (kscope::parse_config) and the container args (kscope::parse_flags), the
// Grafana dashboards and provisioning, the Prometheus config and rules. Then,
// as root, the DaemonSet's security context against the real probes, and
// every dashboard query and alerting rule in a real Prometheus scraping the
// real kscope binary, its workload in a cgroup named like a Kubernetes pod's
// container so that the per-pod joins through kscope_cgroup_info have data.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include "cgroup/metadata.h"
#include "cli.h"
#include "collector.h"
#include "config.h"
#include "e2e_util.h"

namespace kscope::test {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = KSCOPE_SOURCE_DIR;
const std::string kBinary = KSCOPE_BINARY;
const fs::path kKubernetes = kSource / "deploy" / "kubernetes";
const fs::path kPrometheus = kSource / "deploy" / "prometheus";
const fs::path kDashboards = kSource / "dashboards";
// Children started through `setpriv --pdeathsig SIGKILL` die with the test,
// should it crash before its destructors run.
constexpr const char* kSetpriv = "/usr/bin/setpriv";

std::string slurp(const fs::path& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f) << path << ": cannot read";
  return {std::istreambuf_iterator<char>(f), {}};
}

// The scalar's text, or "" when the node is missing or not a scalar.
std::string str(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : ""; }

std::set<std::string> strings(const YAML::Node& seq) {
  std::set<std::string> out;
  if (seq && seq.IsSequence())
    for (const auto& item : seq) out.insert(str(item));
  return out;
}

std::vector<fs::path> files(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ext) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// ---------------------------------------------------------------------------
// Kubernetes

struct Manifest {
  std::string file;
  YAML::Node doc;
};

// Every document of every deploy/kubernetes/*.yaml but the kustomization.
std::vector<Manifest> manifests() {
  std::vector<Manifest> out;
  for (const auto& path : files(kKubernetes, ".yaml")) {
    if (path.filename() == "kustomization.yaml") continue;
    for (const auto& doc : YAML::LoadAllFromFile(path.string()))
      if (!doc.IsNull()) out.push_back({path.filename().string(), doc});
  }
  return out;
}

// The one manifest of this kind.
YAML::Node manifest(const std::string& kind) {
  std::vector<YAML::Node> found;
  for (const auto& m : manifests())
    if (str(m.doc["kind"]) == kind) found.push_back(m.doc);
  EXPECT_EQ(found.size(), 1u) << "manifests of kind " << kind;
  return found.empty() ? YAML::Node() : found[0];
}

YAML::Node pod_spec() { return manifest("DaemonSet")["spec"]["template"]["spec"]; }

YAML::Node container() {
  const YAML::Node containers = pod_spec()["containers"];
  EXPECT_TRUE(containers.IsSequence() && containers.size() == 1) << "one container";
  return containers.IsSequence() && containers.size() > 0 ? containers[0] : YAML::Node();
}

std::vector<std::string> container_args() {
  std::vector<std::string> args;
  for (const auto& a : container()["args"]) args.push_back(str(a));
  return args;
}

std::map<std::string, std::string> string_map(const YAML::Node& map) {
  std::map<std::string, std::string> out;
  if (map && map.IsMap())
    for (const auto& kv : map) out[str(kv.first)] = str(kv.second);
  return out;
}

// Every key=value of `selector` is among `labels`.
bool selects(const YAML::Node& selector, const YAML::Node& labels) {
  auto want = string_map(selector), have = string_map(labels);
  if (want.empty()) return false;
  for (const auto& [k, v] : want)
    if (!have.count(k) || have[k] != v) return false;
  return true;
}

TEST(Kubernetes, EveryManifestHasKindApiVersionNameAndNamespace) {
  const std::map<std::string, std::string> expected = {
      {"Namespace", "v1"},
      {"ConfigMap", "v1"},
      {"DaemonSet", "apps/v1"},
      {"Service", "v1"},
      {"ServiceMonitor", "monitoring.coreos.com/v1"},
      {"NetworkPolicy", "networking.k8s.io/v1"}};
  std::map<std::string, std::string> found;
  for (const auto& [file, doc] : manifests()) {
    SCOPED_TRACE(file);
    std::string kind = str(doc["kind"]);
    ASSERT_TRUE(expected.count(kind)) << "unexpected kind " << kind;
    EXPECT_EQ(str(doc["apiVersion"]), expected.at(kind)) << kind;
    EXPECT_EQ(str(doc["metadata"]["name"]), "kscope") << kind;
    if (kind != "Namespace") {
      EXPECT_EQ(str(doc["metadata"]["namespace"]), "kscope") << kind;
    }
    EXPECT_EQ(str(doc["metadata"]["labels"]["app.kubernetes.io/name"]), "kscope") << kind;
    EXPECT_TRUE(found.emplace(kind, file).second) << "two manifests of kind " << kind;
  }
  EXPECT_EQ(found.size(), expected.size());
}

TEST(Kubernetes, KustomizationListsEveryFile) {
  const YAML::Node k = YAML::LoadFile((kKubernetes / "kustomization.yaml").string());
  EXPECT_EQ(str(k["apiVersion"]), "kustomize.config.k8s.io/v1beta1");
  EXPECT_EQ(str(k["kind"]), "Kustomization");
  EXPECT_EQ(str(k["namespace"]), "kscope");
  std::set<std::string> on_disk;
  for (const auto& path : files(kKubernetes, ".yaml"))
    if (path.filename() != "kustomization.yaml") on_disk.insert(path.filename().string());
  for (const auto& path : files(kKubernetes, ".yml")) ADD_FAILURE() << path << ": use .yaml";
  EXPECT_EQ(strings(k["resources"]), on_disk);
  EXPECT_EQ(k["resources"].size(), on_disk.size()) << "a resource listed twice";
}

TEST(Kubernetes, NamespaceAllowsWhatTheDaemonSetNeeds) {
  // hostPID, hostPath and the BPF capabilities are beyond "baseline".
  EXPECT_EQ(str(manifest("Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]),
            "privileged");
}

TEST(Kubernetes, DaemonSetEssentials) {
  const YAML::Node ds = manifest("DaemonSet");
  const YAML::Node pod = pod_spec();
  EXPECT_TRUE(
      selects(ds["spec"]["selector"]["matchLabels"], ds["spec"]["template"]["metadata"]["labels"]));
  EXPECT_TRUE(pod["hostPID"].as<bool>(false));
  EXPECT_FALSE(pod["hostNetwork"].as<bool>(false));
  EXPECT_EQ(str(pod["priorityClassName"]), "system-node-critical");
  // Every node: one toleration that tolerates every taint.
  bool tolerates_all = false;
  for (const auto& t : pod["tolerations"])
    tolerates_all = tolerates_all || (str(t["operator"]) == "Exists" && !t["key"] && !t["effect"]);
  EXPECT_TRUE(tolerates_all) << "no `- operator: Exists` toleration";

  const YAML::Node c = container();
  EXPECT_EQ(str(c["image"]), "kscope:latest");
  const YAML::Node sc = c["securityContext"];
  ASSERT_TRUE(sc.IsMap());
  ASSERT_TRUE(sc["privileged"]) << "privileged: false, explicitly";
  EXPECT_FALSE(sc["privileged"].as<bool>());
  EXPECT_FALSE(sc["allowPrivilegeEscalation"].as<bool>(true));
  EXPECT_EQ(str(sc["runAsUser"]), "0");
  EXPECT_TRUE(sc["readOnlyRootFilesystem"].as<bool>(false));
  EXPECT_EQ(strings(sc["capabilities"]["drop"]), std::set<std::string>{"ALL"});
  // Root owns tracefs (no DAC_READ_SEARCH), tracefs comes mounted from the
  // host (no SYS_ADMIN), maps are charged to the cgroup on 5.11+ (no
  // SYS_RESOURCE).
  EXPECT_EQ(strings(sc["capabilities"]["add"]), (std::set<std::string>{"BPF", "PERFMON"}));
  EXPECT_EQ(str(pod["securityContext"]["seccompProfile"]["type"]), "RuntimeDefault");

  const YAML::Node r = c["resources"];
  EXPECT_EQ(str(r["requests"]["cpu"]), "10m");
  EXPECT_EQ(str(r["requests"]["memory"]), "32Mi");
  EXPECT_EQ(str(r["limits"]["cpu"]), "200m");
  EXPECT_EQ(str(r["limits"]["memory"]), "128Mi");

  Flags flags = parse_flags(container_args());
  std::string port = civetweb_listening_port(flags.listen_address);
  for (const char* probe : {"livenessProbe", "readinessProbe"}) {
    EXPECT_EQ(str(c[probe]["httpGet"]["path"]), "/") << probe;
    EXPECT_EQ(str(c[probe]["httpGet"]["port"]), port) << probe;
  }
  bool port_declared = false;
  for (const auto& p : c["ports"])
    port_declared =
        port_declared || (str(p["name"]) == "metrics" && str(p["containerPort"]) == port);
  EXPECT_TRUE(port_declared) << "containerPort " << port << " named metrics";
}

TEST(Kubernetes, DaemonSetMountsWhatKscopeReadsReadOnlyAndNoHostProc) {
  std::map<std::string, std::string> host_paths;  // volume name -> host path
  for (const auto& v : pod_spec()["volumes"])
    if (v["hostPath"]) host_paths[str(v["name"])] = str(v["hostPath"]["path"]);
  std::map<std::string, std::string> mounted;  // host path -> mount path
  for (const auto& m : container()["volumeMounts"]) {
    auto hp = host_paths.find(str(m["name"]));
    if (hp == host_paths.end()) continue;
    EXPECT_TRUE(m["readOnly"].as<bool>(false)) << hp->second << " must be mounted read-only";
    mounted[hp->second] = str(m["mountPath"]);
  }
  // BTF, tracefs, the node's cgroup2 tree over the container's (cgroup
  // names), the kubelet's pod log directories (pod names); no /proc: kscope
  // reads only /proc/self and /proc/stat.
  Config config = parse_config(str(manifest("ConfigMap")["data"]["kscope.yml"]), "kscope.yml",
                               collector_names());
  EXPECT_EQ(mounted,
            (std::map<std::string, std::string>{{"/sys/kernel/btf", "/sys/kernel/btf"},
                                                {"/sys/kernel/tracing", "/sys/kernel/tracing"},
                                                {"/sys/fs/cgroup", "/sys/fs/cgroup"},
                                                {"/var/log/pods", config.pods_log_dir}}));
}

TEST(Kubernetes, ContainerArgsAreAcceptedByKscope) {
  std::vector<std::string> args = container_args();
  EXPECT_EQ(args, (std::vector<std::string>{"--web.listen-address=:9822",
                                            "--config.file=/etc/kscope/kscope.yml"}));
  Flags flags;
  ASSERT_NO_THROW(flags = parse_flags(args));
  EXPECT_EQ(flags.listen_address, ":9822");
  EXPECT_EQ(flags.config_file, "/etc/kscope/kscope.yml");
  EXPECT_EQ(civetweb_listening_port(flags.listen_address), "9822");
  EXPECT_TRUE(flags.web_config_file.empty()) << "--web.config.file is rejected by kscope";
}

TEST(Kubernetes, ConfigMapHoldsAValidKscopeConfigWhereTheArgsSayItIs) {
  const YAML::Node cm = manifest("ConfigMap");
  std::string text = str(cm["data"]["kscope.yml"]);
  ASSERT_FALSE(text.empty()) << "data key kscope.yml";
  std::set<std::string> modules = collector_names();
  EXPECT_EQ(modules, (std::set<std::string>{"fd", "process", "vfs"}));
  Config config;
  ASSERT_NO_THROW(config = parse_config(text, "configmap.yaml:kscope.yml", modules));
  for (const auto& m : modules) EXPECT_TRUE(config.module_enabled(m)) << m;
  EXPECT_EQ(config.mode, Mode::kReturn) << "the dashboards and alerts need mode: return";
  EXPECT_EQ(config.attribution, Attribution::kCgroup) << "the by-cgroup panels need it";

  // --config.file is the ConfigMap's key, in a directory the ConfigMap is mounted on.
  fs::path config_file = parse_flags(container_args()).config_file;
  EXPECT_EQ(config_file.filename(), "kscope.yml");
  std::string volume;
  for (const auto& m : container()["volumeMounts"])
    if (str(m["mountPath"]) == config_file.parent_path().string()) volume = str(m["name"]);
  ASSERT_FALSE(volume.empty()) << "nothing mounted at " << config_file.parent_path();
  bool from_configmap = false;
  for (const auto& v : pod_spec()["volumes"])
    from_configmap = from_configmap || (str(v["name"]) == volume &&
                                        str(v["configMap"]["name"]) == str(cm["metadata"]["name"]));
  EXPECT_TRUE(from_configmap) << volume << " is not the ConfigMap";
}

TEST(Kubernetes, HeadlessServiceAndServiceMonitorReachThePods) {
  const YAML::Node pod_labels = manifest("DaemonSet")["spec"]["template"]["metadata"]["labels"];
  const YAML::Node svc = manifest("Service");
  EXPECT_EQ(str(svc["spec"]["type"]), "ClusterIP");
  EXPECT_EQ(str(svc["spec"]["clusterIP"]), "None");
  EXPECT_TRUE(selects(svc["spec"]["selector"], pod_labels));
  ASSERT_EQ(svc["spec"]["ports"].size(), 1u);
  EXPECT_EQ(str(svc["spec"]["ports"][0]["name"]), "metrics");
  EXPECT_EQ(str(svc["spec"]["ports"][0]["port"]), "9822");

  const YAML::Node sm = manifest("ServiceMonitor");
  EXPECT_TRUE(selects(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"]));
  EXPECT_TRUE(strings(sm["spec"]["namespaceSelector"]["matchNames"]).count("kscope"));
  ASSERT_GE(sm["spec"]["endpoints"].size(), 1u);
  EXPECT_EQ(str(sm["spec"]["endpoints"][0]["port"]), "metrics");
  // The alert KscopeTargetDown expects job="kscope": the operator names the
  // job after the Service.
  EXPECT_EQ(str(svc["metadata"]["name"]), "kscope");
  EXPECT_FALSE(sm["spec"]["jobLabel"]);
}

TEST(Kubernetes, NetworkPolicyAdmitsOnlyPrometheusPodsOnTheMetricsPort) {
  const YAML::Node np = manifest("NetworkPolicy");
  EXPECT_TRUE(selects(np["spec"]["podSelector"]["matchLabels"],
                      manifest("DaemonSet")["spec"]["template"]["metadata"]["labels"]));
  EXPECT_EQ(strings(np["spec"]["policyTypes"]), std::set<std::string>{"Ingress"});
  const YAML::Node ingress = np["spec"]["ingress"];
  ASSERT_EQ(ingress.size(), 1u);
  ASSERT_EQ(ingress[0]["from"].size(), 1u);
  const YAML::Node from = ingress[0]["from"][0];
  // namespaceSelector {} and podSelector in one element: those pods, in any namespace.
  ASSERT_TRUE(from["namespaceSelector"].IsMap());
  EXPECT_EQ(from["namespaceSelector"].size(), 0u);
  EXPECT_EQ(string_map(from["podSelector"]["matchLabels"]),
            (std::map<std::string, std::string>{{"app.kubernetes.io/name", "prometheus"}}));
  ASSERT_EQ(ingress[0]["ports"].size(), 1u);
  EXPECT_EQ(str(ingress[0]["ports"][0]["port"]), "9822");
  EXPECT_EQ(str(ingress[0]["ports"][0]["protocol"]), "TCP");
}

// ---------------------------------------------------------------------------
// The metrics contract: README.md's Metrics table.

struct Contract {
  std::set<std::string> table;   // metric names of the table
  std::set<std::string> series;  // names a query may use (histograms as _bucket/_sum/_count)
};

Contract readme_contract() {
  Contract c;
  std::istringstream in(slurp(kSource / "README.md"));
  static const std::regex backticked("`([a-z_:]+)`");
  for (std::string line; std::getline(in, line);) {
    for (std::sregex_iterator it(line.begin(), line.end(), backticked), end; it != end; ++it) {
      std::string name = (*it)[1];
      if (name.starts_with("process_") && name.size() > 8) c.series.insert(name);
    }
    if (!line.starts_with("| `kscope_")) continue;
    // | `first`, `_suffix`, ... | type | mode | meaning |
    std::string names = line.substr(2, line.find('|', 2) - 2);
    std::string type = line.substr(line.find('|', 2) + 1);
    type = type.substr(0, type.find('|'));
    bool histogram = type.find("histogram") != std::string::npos;
    std::string first;
    for (std::sregex_iterator it(names.begin(), names.end(), backticked), end; it != end; ++it) {
      std::string name = (*it)[1];
      if (first.empty()) {
        first = name;
      } else if (name.starts_with("_")) {
        // `_errors_total` after `kscope_vfs_write_calls_total`: replace as many
        // trailing parts of the first name as the suffix has.
        std::string base = first;
        for (auto parts = std::count(name.begin(), name.end(), '_'); parts > 0; --parts)
          base = base.substr(0, base.rfind('_'));
        name = base + name;
      }
      c.table.insert(name);
      if (histogram) {
        for (const char* s : {"_bucket", "_sum", "_count"}) c.series.insert(name + s);
      } else {
        c.series.insert(name);
      }
    }
  }
  c.series.insert("kscope_probe_up");
  c.series.insert("kscope_build_info");
  // Documented under "Who does it", with its labels, rather than in the table.
  if (slurp(kSource / "README.md")
          .find("`kscope_cgroup_info{cgroup, systemd_unit, container_id, "
                "pod_uid, namespace, pod} 1`") != std::string::npos)
    c.series.insert("kscope_cgroup_info");
  return c;
}

TEST(Contract, ReadmeTableParses) {
  Contract c = readme_contract();
  EXPECT_GE(c.table.size(), 20u);
  for (const char* name : {"kscope_vfs_write_errors_total", "kscope_vfs_fsync_errors_total",
                           "kscope_vfs_read_size_bytes_bucket", "process_cpu_seconds_total",
                           "kscope_process_zombies", "kscope_cgroup_info"})
    EXPECT_TRUE(c.series.count(name)) << name;
}

// Identifiers of a PromQL expression that are neither functions, keywords
// nor label names: the metric names it reads.
std::set<std::string> metric_names(std::string expr) {
  static const std::set<std::string> kNotMetrics = {
      // functions and aggregations in use
      "sum", "rate", "irate", "increase", "deriv", "delta", "avg", "max", "min", "count",
      "histogram_quantile", "clamp_min", "abs", "max_over_time", "min_over_time", "topk",
      // keywords
      "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
      "offset",
      // label names
      "instance", "job", "le", "probe", "cgroup", "namespace", "pod", "systemd_unit",
      "container_id", "pod_uid"};
  expr = std::regex_replace(expr, std::regex("\"([^\"\\\\]|\\\\.)*\""), "\"\"");  // strings
  expr = std::regex_replace(expr, std::regex("\\$\\{?\\w+\\}?"), "1");  // Grafana variables
  std::set<std::string> out;
  static const std::regex ident("(^|[^A-Za-z0-9_:.])([A-Za-z_:][A-Za-z0-9_:]*)");
  for (std::sregex_iterator it(expr.begin(), expr.end(), ident), end; it != end; ++it)
    if (!kNotMetrics.count((*it)[2])) out.insert((*it)[2]);
  return out;
}

TEST(Contract, MetricNamesOfAnExpression) {
  EXPECT_EQ(metric_names("sum by (le) (rate(kscope_vfs_read_size_bytes_bucket{instance=~\"$"
                         "instance\"}[$__rate_interval])) - up{job=\"kscope\"} > 10"),
            (std::set<std::string>{"kscope_vfs_read_size_bytes_bucket", "up"}));
  EXPECT_EQ(metric_names("deriv(kscope_process_zombies[15m]) > 0"),
            std::set<std::string>{"kscope_process_zombies"});
}

// ---------------------------------------------------------------------------
// Grafana

struct Query {
  std::string where;  // dashboard / panel title
  std::string expr;
};

std::vector<fs::path> dashboard_files() { return files(kDashboards, ".json"); }

// Panels, those nested in collapsed rows included.
std::vector<YAML::Node> panels(const YAML::Node& dashboard) {
  std::vector<YAML::Node> out;
  for (const auto& p : dashboard["panels"]) {
    out.push_back(p);
    for (const auto& nested : p["panels"]) out.push_back(nested);
  }
  return out;
}

std::vector<Query> dashboard_queries() {
  std::vector<Query> out;
  for (const auto& path : dashboard_files()) {
    const YAML::Node d = YAML::LoadFile(path.string());  // JSON is YAML
    for (const auto& p : panels(d))
      for (const auto& t : p["targets"])
        out.push_back({path.filename().string() + " / " + str(p["title"]), str(t["expr"])});
  }
  return out;
}

TEST(Dashboards, TheFiveExist) {
  std::set<std::string> names;
  for (const auto& p : dashboard_files()) names.insert(p.filename().string());
  EXPECT_EQ(names,
            (std::set<std::string>{"kscope-overview.json", "kscope-files.json", "kscope-vfs.json",
                                   "kscope-processes.json", "kscope-workloads.json"}));
}

TEST(Dashboards, ReadyForImportAndProvisioning) {
  std::set<std::string> uids;
  for (const auto& path : dashboard_files()) {
    SCOPED_TRACE(path.filename().string());
    YAML::Node d;
    ASSERT_NO_THROW(d = YAML::LoadFile(path.string()));
    ASSERT_TRUE(d.IsMap());
    EXPECT_EQ(str(d["schemaVersion"]), "39");
    EXPECT_TRUE(d["id"].IsNull()) << "id: null, for import into any Grafana";
    EXPECT_TRUE(uids.insert(str(d["uid"])).second) << "uid " << str(d["uid"]) << " twice";
    EXPECT_FALSE(str(d["title"]).empty());

    // Import: one Prometheus data source input.
    const YAML::Node inputs = d["__inputs"];
    ASSERT_TRUE(inputs.IsSequence() && inputs.size() == 1) << "__inputs";
    EXPECT_EQ(str(inputs[0]["type"]), "datasource");
    EXPECT_EQ(str(inputs[0]["pluginId"]), "prometheus");
    // Provisioning does not substitute __inputs: nothing may refer to them.
    std::string text = slurp(path);
    std::string input_ref = "${" + str(inputs[0]["name"]) + "}";
    EXPECT_EQ(text.find(input_ref), std::string::npos)
        << input_ref << " would be left unresolved by file provisioning";

    std::map<std::string, YAML::Node> vars;
    for (const auto& v : d["templating"]["list"]) vars.emplace(str(v["name"]), v);
    ASSERT_TRUE(vars.count("datasource"));
    EXPECT_EQ(str(vars["datasource"]["type"]), "datasource");
    EXPECT_EQ(str(vars["datasource"]["query"]), "prometheus");
    ASSERT_TRUE(vars.count("instance"));
    const YAML::Node instance = vars["instance"];
    EXPECT_EQ(str(instance["type"]), "query");
    EXPECT_EQ(str(instance["definition"]), "label_values(kscope_build_info, instance)");
    EXPECT_EQ(str(instance["query"]["query"]), "label_values(kscope_build_info, instance)");
    EXPECT_EQ(str(instance["datasource"]["uid"]), "${datasource}");
    EXPECT_EQ(str(instance["allValue"]), ".*");

    std::set<std::string> ids;
    int data_panels = 0;
    for (const auto& p : panels(d)) {
      std::string title = str(p["title"]), type = str(p["type"]);
      SCOPED_TRACE(title);
      EXPECT_TRUE(ids.insert(str(p["id"])).second) << "panel id " << str(p["id"]) << " twice";
      for (const char* k : {"x", "y", "w", "h"}) EXPECT_TRUE(p["gridPos"][k]) << k;
      if (type == "row") continue;
      data_panels++;
      EXPECT_TRUE(type == "timeseries" || type == "heatmap" || type == "table") << type;
      EXPECT_EQ(str(p["datasource"]["type"]), "prometheus");
      EXPECT_EQ(str(p["datasource"]["uid"]), "${datasource}");
      std::string unit = str(p["fieldConfig"]["defaults"]["unit"]);
      EXPECT_FALSE(unit.empty()) << "fieldConfig.defaults.unit";
      ASSERT_GE(p["targets"].size(), 1u);
      static const std::regex plain_rate(
          "sum by \\(instance\\) \\(rate\\((kscope_\\w+_total)\\{instance=~\"\\$instance\"\\}"
          "\\[\\$__rate_interval\\]\\)\\)");
      for (const auto& t : p["targets"]) {
        std::string expr = str(t["expr"]);
        EXPECT_FALSE(expr.empty());
        EXPECT_EQ(str(t["datasource"]["uid"]), "${datasource}");
        EXPECT_FALSE(str(t["refId"]).empty());
        // Every selector is filtered by the instance variable.
        static const std::regex selector("\\{([^}]*)\\}");
        int selectors = 0;
        for (std::sregex_iterator it(expr.begin(), expr.end(), selector), end; it != end; ++it) {
          selectors++;
          EXPECT_NE(std::string((*it)[1]).find("instance=~\"$instance\""), std::string::npos)
              << expr;
        }
        EXPECT_GT(selectors, 0) << expr;
        std::smatch m;
        if (std::regex_match(expr, m, plain_rate)) {
          std::string metric = m[1];
          EXPECT_EQ(unit, metric.ends_with("_bytes_total") ? "Bps" : "ops") << expr;
        }
        if (type == "table") {
          // One row per series, now: labels as columns.
          EXPECT_EQ(str(t["format"]), "table");
          EXPECT_TRUE(t["instant"].as<bool>(false));
          EXPECT_FALSE(t["range"].as<bool>(true));
        }
        if (type == "heatmap") {
          EXPECT_EQ(str(t["format"]), "heatmap");
          EXPECT_TRUE(expr.starts_with("sum by (le) (rate(") && expr.find("_bucket{") != expr.npos)
              << expr;
        }
      }
      if (type == "heatmap") {
        EXPECT_EQ(str(p["options"]["yAxis"]["unit"]), "bytes");
        EXPECT_FALSE(p["options"]["calculate"].as<bool>(true)) << "buckets come from Prometheus";
      }
    }
    EXPECT_GE(data_panels, 4);
  }
}

TEST(Dashboards, QueriesUseOnlyTheReadmeMetricsAndShowEveryOne) {
  Contract c = readme_contract();
  std::set<std::string> used;
  for (const auto& q : dashboard_queries()) {
    for (const auto& name : metric_names(q.expr)) {
      EXPECT_TRUE(c.series.count(name)) << q.where << ": " << name << " is not in README.md";
      used.insert(name);
    }
  }
  for (const auto& name : c.table)
    EXPECT_TRUE(used.count(name) || used.count(name + "_bucket")) << name << " on no dashboard";
}

TEST(Dashboards, EachShowsItsSubject) {
  const std::map<std::string, std::vector<std::string>> subjects = {
      {"kscope-overview.json",
       {"kscope_fd_open_calls_total", "kscope_vfs_read_bytes_total", "kscope_process_zombies",
        "kscope_probe_up"}},
      {"kscope-files.json",
       {"kscope_fd_open_calls_total", "kscope_fd_close_calls_total", "kscope_fd_open_errors_total",
        "kscope_fd_close_errors_total"}},
      {"kscope-vfs.json",
       {"kscope_vfs_read_calls_total", "kscope_vfs_write_calls_total",
        "kscope_vfs_read_bytes_total", "kscope_vfs_write_bytes_total",
        "kscope_vfs_read_errors_total", "kscope_vfs_write_errors_total",
        "kscope_vfs_read_size_bytes_bucket", "kscope_vfs_write_size_bytes_bucket",
        "kscope_vfs_unlink_calls_total", "kscope_vfs_fsync_calls_total"}},
      {"kscope-processes.json",
       {"kscope_process_created_total", "kscope_thread_created_total", "kscope_task_exits_total",
        "kscope_task_released_total", "kscope_process_zombies",
        "kscope_process_create_errors_total"}},
      {"kscope-workloads.json",
       {"kscope_cgroup_info", "kscope_fd_open_calls_total", "kscope_fd_close_calls_total",
        "kscope_vfs_read_bytes_total", "kscope_vfs_write_bytes_total",
        "kscope_process_create_errors_total", "kscope_process_zombies"}}};
  std::map<std::string, std::set<std::string>> used;
  bool divergence = false;
  for (const auto& q : dashboard_queries()) {
    std::string file = q.where.substr(0, q.where.find(' '));
    for (const auto& n : metric_names(q.expr)) used[file].insert(n);
    // rate(open) - rate(close): the fd-leak signal.
    divergence =
        divergence || (file == "kscope-files.json" &&
                       std::regex_search(q.expr, std::regex("kscope_fd_open_calls_total.*\\) - .*"
                                                            "kscope_fd_close_calls_total")));
  }
  for (const auto& [file, metrics] : subjects)
    for (const auto& m : metrics) EXPECT_TRUE(used[file].count(m)) << file << ": " << m;
  EXPECT_TRUE(divergence) << "kscope-files.json: no open - close divergence";
}

// The join of every per-pod panel: the counters' (instance, cgroup) to
// kscope_cgroup_info's namespace and pod, filtered by the pod variables.
const std::string kPodJoin =
    " * on (instance, cgroup) group_left (namespace, pod) "
    "kscope_cgroup_info{instance=~\"$instance\", "
    "namespace=~\"$namespace\", pod=~\"$pod\", pod!=\"\"}";

const fs::path kWorkloads = kDashboards / "kscope-workloads.json";

TEST(Dashboards, WorkloadsHasNamespaceAndPodVariablesFromTheInfoMetric) {
  const YAML::Node d = YAML::LoadFile(kWorkloads.string());
  std::vector<std::string> order;
  std::map<std::string, YAML::Node> vars;
  for (const auto& v : d["templating"]["list"]) {
    order.push_back(str(v["name"]));
    vars.emplace(str(v["name"]), v);
  }
  // Chained: each variable's query uses those before it.
  EXPECT_EQ(order, (std::vector<std::string>{"datasource", "instance", "namespace", "pod"}));
  const std::map<std::string, std::string> queries = {
      {"namespace", "label_values(kscope_cgroup_info{instance=~\"$instance\"}, namespace)"},
      {"pod",
       "label_values(kscope_cgroup_info{instance=~\"$instance\", namespace=~\"$namespace\"}, "
       "pod)"}};
  for (const auto& [name, q] : queries) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(vars.count(name));
    const YAML::Node v = vars[name];
    EXPECT_EQ(str(v["type"]), "query");
    EXPECT_EQ(str(v["definition"]), q);
    EXPECT_EQ(str(v["query"]["query"]), q);
    EXPECT_EQ(str(v["datasource"]["uid"]), "${datasource}");
    EXPECT_TRUE(v["multi"].as<bool>(false));
    EXPECT_TRUE(v["includeAll"].as<bool>(false));
    EXPECT_EQ(str(v["allValue"]), ".*");
    EXPECT_EQ(str(v["refresh"]), "2") << "on time range change: pods come and go";
  }
}

TEST(Dashboards, WorkloadsJoinsEveryCounterToPodsThroughTheInfoMetric) {
  const YAML::Node d = YAML::LoadFile(kWorkloads.string());
  std::set<std::string> joined;  // metrics shown per pod
  int tables = 0;
  for (const auto& p : panels(d)) {
    std::string title = str(p["title"]);
    SCOPED_TRACE(title);
    for (const auto& t : p["targets"]) {
      std::string expr = str(t["expr"]);
      if (str(p["type"]) == "table") {
        // The cgroups with their metadata; on All, every cgroup (not only pods').
        tables++;
        EXPECT_EQ(expr,
                  "kscope_cgroup_info{instance=~\"$instance\", namespace=~\"$namespace\", "
                  "pod=~\"$pod\"}");
        std::set<std::string> hidden;
        for (const auto& tr : p["transformations"])
          for (const auto& kv : tr["options"]["excludeByName"])
            if (kv.second.as<bool>(false)) hidden.insert(str(kv.first));
        for (const char* column :
             {"cgroup", "systemd_unit", "container_id", "pod_uid", "namespace", "pod"})
          EXPECT_FALSE(hidden.count(column)) << column << " hidden";
        continue;
      }
      // sum by (namespace, pod) (<per-cgroup expression> * on (...) kscope_cgroup_info{...})
      EXPECT_TRUE(expr.starts_with("topk(10, sum by (namespace, pod) (")) << expr;
      EXPECT_TRUE(expr.ends_with(kPodJoin + "))")) << expr;
      EXPECT_EQ(str(t["legendFormat"]), "{{namespace}}/{{pod}}");
      for (const auto& name : metric_names(expr))
        if (name != "kscope_cgroup_info") joined.insert(name);
    }
  }
  EXPECT_EQ(tables, 1);
  EXPECT_EQ(joined, (std::set<std::string>{
                        "kscope_fd_open_calls_total", "kscope_fd_close_calls_total",
                        "kscope_vfs_read_bytes_total", "kscope_vfs_write_bytes_total",
                        "kscope_process_create_errors_total", "kscope_process_zombies"}));
}

TEST(Grafana, ProvisioningFiles) {
  const fs::path dir = kSource / "deploy" / "grafana" / "provisioning";
  const YAML::Node dash = YAML::LoadFile((dir / "dashboards" / "kscope.yaml").string());
  EXPECT_EQ(str(dash["apiVersion"]), "1");
  ASSERT_EQ(dash["providers"].size(), 1u);
  EXPECT_EQ(str(dash["providers"][0]["type"]), "file");
  EXPECT_TRUE(str(dash["providers"][0]["options"]["path"]).starts_with("/"));
  const YAML::Node ds = YAML::LoadFile((dir / "datasources" / "prometheus.yaml").string());
  EXPECT_EQ(str(ds["apiVersion"]), "1");
  ASSERT_EQ(ds["datasources"].size(), 1u);
  EXPECT_EQ(str(ds["datasources"][0]["type"]), "prometheus");
  EXPECT_TRUE(ds["datasources"][0]["isDefault"].as<bool>(false))
      << "the dashboards' datasource variable starts on the default data source";
  EXPECT_FALSE(str(ds["datasources"][0]["url"]).empty());
}

// ---------------------------------------------------------------------------
// Prometheus

const std::set<std::string> kAlerts = {
    "KscopeFdLeak",           "KscopePodFdLeak",   "KscopeZombiesRising",
    "KscopePodZombiesRising", "KscopeZombiesHigh", "KscopePodZombiesHigh",
    "KscopeForkErrors",       "KscopeProbeDown",   "KscopeTargetDown"};
// Per pod, next to the host alert of the same name without "Pod".
const std::set<std::string> kPodAlerts = {"KscopePodFdLeak", "KscopePodZombiesRising",
                                          "KscopePodZombiesHigh"};

TEST(Prometheus, ExampleConfigScrapesKscopeWithTheRules) {
  const YAML::Node cfg = YAML::LoadFile((kPrometheus / "prometheus.yml").string());
  int kscope_jobs = 0;
  for (const auto& job : cfg["scrape_configs"]) {
    if (str(job["job_name"]) != "kscope") continue;
    kscope_jobs++;
    EXPECT_EQ(str(job["scrape_interval"]), "15s");
  }
  EXPECT_EQ(kscope_jobs, 1);
  EXPECT_EQ(strings(cfg["rule_files"]), std::set<std::string>{"kscope-rules.yml"})
      << "relative to the config file, as promtool and Prometheus resolve it";
}

TEST(Prometheus, RulesAreDocumentedUseReadmeMetricsAndAreAllUnitTested) {
  std::string text = slurp(kPrometheus / "kscope-rules.yml");
  const YAML::Node rules = YAML::Load(text);
  Contract c = readme_contract();
  c.series.insert("up");
  std::set<std::string> alerts;
  for (const auto& g : rules["groups"]) {
    for (const auto& r : g["rules"]) {
      std::string alert = str(r["alert"]);
      SCOPED_TRACE(alert);
      EXPECT_TRUE(alerts.insert(alert).second) << "twice";
      EXPECT_FALSE(str(r["for"]).empty());
      EXPECT_FALSE(str(r["labels"]["severity"]).empty());
      EXPECT_FALSE(str(r["annotations"]["summary"]).empty());
      EXPECT_FALSE(str(r["annotations"]["description"]).empty());
      for (const auto& name : metric_names(str(r["expr"])))
        EXPECT_TRUE(c.series.count(name)) << name << " is not in README.md";
      // The threshold is explained in the comment just above the rule.
      auto at = text.find("- alert: " + alert);
      ASSERT_NE(at, std::string::npos);
      std::string before = text.substr(0, at);
      before = before.substr(0, before.find_last_not_of(" \n") + 1);
      std::string last_line = before.substr(before.rfind('\n') + 1);
      EXPECT_TRUE(last_line.find_first_not_of(' ') != std::string::npos &&
                  last_line[last_line.find_first_not_of(' ')] == '#')
          << "no comment above the rule";
    }
  }
  EXPECT_EQ(alerts, kAlerts);

  // kscope-rules.test.yml: every alert seen firing and seen not firing.
  const YAML::Node tests = YAML::LoadFile((kPrometheus / "kscope-rules.test.yml").string());
  EXPECT_EQ(strings(tests["rule_files"]), std::set<std::string>{"kscope-rules.yml"});
  std::set<std::string> firing, quiet;
  for (const auto& t : tests["tests"])
    for (const auto& a : t["alert_rule_test"])
      (a["exp_alerts"].size() > 0 ? firing : quiet).insert(str(a["alertname"]));
  EXPECT_EQ(firing, kAlerts) << "alerts tested firing";
  EXPECT_EQ(quiet, kAlerts) << "alerts tested not firing";
}

// The labels of a series written 'name{a="x", b="y"}' in a promtool test.
std::map<std::string, std::string> series_labels(const std::string& series) {
  std::map<std::string, std::string> out;
  static const std::regex label("(\\w+)=\"([^\"]*)\"");
  for (std::sregex_iterator it(series.begin(), series.end(), label), end; it != end; ++it)
    out[(*it)[1]] = (*it)[2];
  return out;
}

TEST(Prometheus, PodAlertsJoinTheInfoMetricAndAreTestedWithNamespaceAndPod) {
  const YAML::Node rules = YAML::LoadFile((kPrometheus / "kscope-rules.yml").string());
  std::set<std::string> pod_alerts, all;
  for (const auto& g : rules["groups"])
    for (const auto& r : g["rules"]) {
      std::string alert = str(r["alert"]);
      all.insert(alert);
      if (!alert.starts_with("KscopePod")) continue;
      SCOPED_TRACE(alert);
      pod_alerts.insert(alert);
      std::string expr = str(r["expr"]);
      // Every per-cgroup operand joined to the pods, every sum by pod; the
      // cgroups of no pod (systemd services) left out.
      const std::string join =
          "* on (instance, cgroup) group_left (namespace, pod) kscope_cgroup_info{pod!=\"\"}";
      auto count = [&](const std::string& s) {
        size_t n = 0;
        for (size_t at = expr.find(s); at != std::string::npos; at = expr.find(s, at + 1)) n++;
        return n;
      };
      EXPECT_GE(count(join), 1u) << expr;
      EXPECT_EQ(count(join), count("sum by (job, instance, namespace, pod) (")) << expr;
      EXPECT_EQ(count("kscope_cgroup_info"), count(join)) << expr;
      EXPECT_EQ(count("sum by"), count(join)) << "every sum is by pod: " << expr;
      for (const char* annotation : {"summary", "description"}) {
        std::string text = str(r["annotations"][annotation]);
        EXPECT_NE(text.find("{{ $labels.namespace }}/{{ $labels.pod }}"), std::string::npos)
            << annotation;
      }
    }
  EXPECT_EQ(pod_alerts, kPodAlerts);
  // The host alert each refines is kept.
  for (const auto& alert : kPodAlerts) {
    std::string host = "Kscope" + alert.substr(std::string("KscopePod").size());
    EXPECT_TRUE(all.count(host)) << alert << " without the host alert " << host;
  }

  // The unit tests of each pod alert: input series per cgroup with a
  // kscope_cgroup_info carrying namespace and pod for the same (instance,
  // cgroup); firing cases whose every alert names its namespace and pod;
  // cases that do not fire.
  const YAML::Node tests = YAML::LoadFile((kPrometheus / "kscope-rules.test.yml").string());
  std::map<std::string, int> fired, quiet;
  for (const auto& t : tests["tests"]) {
    std::set<std::string> names;
    for (const auto& a : t["alert_rule_test"]) names.insert(str(a["alertname"]));
    bool about_pods = false;
    for (const auto& n : names) about_pods = about_pods || kPodAlerts.count(n);
    if (!about_pods) continue;
    std::set<std::pair<std::string, std::string>> counted, in_pods;  // (instance, cgroup)
    std::set<std::pair<std::string, std::string>> described, pods;   // pods: (namespace, pod)
    for (const auto& s : t["input_series"]) {
      std::string series = str(s["series"]);
      auto labels = series_labels(series);
      SCOPED_TRACE(series);
      EXPECT_TRUE(labels.count("cgroup")) << "every input series per cgroup";
      auto key = std::pair{labels["instance"], labels["cgroup"]};
      if (series.starts_with("kscope_cgroup_info{")) {
        EXPECT_TRUE(described.insert(key).second) << "two info series for one cgroup";
        if (labels.count("pod")) {
          EXPECT_TRUE(labels.count("namespace"));
          EXPECT_TRUE(labels.count("pod_uid"));
          pods.insert({labels["namespace"], labels["pod"]});
          in_pods.insert(key);
        }
      } else {
        counted.insert(key);
      }
    }
    EXPECT_FALSE(pods.empty()) << "a test of " << *names.begin() << " without a pod";
    bool joined = false;
    for (const auto& key : counted) joined = joined || in_pods.count(key);
    EXPECT_TRUE(joined) << "no counter series in the cgroup of a pod's kscope_cgroup_info";
    for (const auto& a : t["alert_rule_test"]) {
      std::string name = str(a["alertname"]);
      if (!kPodAlerts.count(name)) continue;
      SCOPED_TRACE(name + " at " + str(a["eval_time"]));
      if (a["exp_alerts"].size() == 0) quiet[name]++;
      for (const auto& e : a["exp_alerts"]) {
        fired[name]++;
        std::pair<std::string, std::string> pod{str(e["exp_labels"]["namespace"]),
                                                str(e["exp_labels"]["pod"])};
        EXPECT_TRUE(pods.count(pod)) << pod.first << "/" << pod.second
                                     << ": no kscope_cgroup_info with this namespace and pod";
        EXPECT_FALSE(str(e["exp_labels"]["instance"]).empty());
        EXPECT_EQ(str(e["exp_annotations"]["summary"]).find("{{"), std::string::npos);
      }
    }
  }
  for (const auto& alert : kPodAlerts) {
    EXPECT_GE(fired[alert], 1) << alert << " never tested firing";
    EXPECT_GE(quiet[alert], 1) << alert << " never tested not firing";
  }
}

// ---------------------------------------------------------------------------
// As root: the real probes, a real Prometheus.

// The sum of every series of `name`, whatever its labels.
double sum_of(const std::map<std::string, double>& m, const std::string& name) {
  double sum = 0;
  for (const auto& [series, value] : m)
    if (series == name || series.starts_with(name + "{")) sum += value;
  return sum;
}

// Waits until kscope has sampled `n` times; the last scrape's metrics.
std::map<std::string, double> scrape_after_samples(int port, int n) {
  std::map<std::string, double> m;
  for (int i = 0; i < 500; i++) {
    m = parse_metrics(http_get(port, "/metrics").body);
    if (sum_of(m, "kscope_samples_total") >= n) return m;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "kscope did not sample " << n << " times";
  return m;
}

std::string hex(uint64_t v, int digits) {
  std::string out(digits, '0');
  for (int i = digits - 1; i >= 0 && v; i--, v >>= 4) out[i] = "0123456789abcdef"[v & 15];
  return out;
}

// A Kubernetes pod as a node shows it to kscope: a container's cgroup named
// as the kubelet (systemd driver) and containerd name them,
//   <top>/kubepods.slice/kubepods-besteffort.slice/
//     kubepods-besteffort-pod<uid, '-' as '_'>.slice/cri-containerd-<64 hex>.scope
// under a top cgroup of the test's own (<mount>/kscope-deploy-<pid>-<n>), so
// that a real kubelet's tree is never touched; and a kubelet pods log
// directory holding <namespace>_<pod>_<uid>. Everything made is removed when
// it goes, test passed or failed; processes moved into the cgroup must have
// exited and been reaped by then.
class FakePod {
 public:
  FakePod(std::string ns, std::string name) : namespace_(std::move(ns)), name_(std::move(name)) {
    static int made = 0;
    auto mount = find_cgroup2_mount(slurp("/proc/self/mountinfo"));
    if (!mount) {
      ADD_FAILURE() << "no cgroup2 mount in /proc/self/mountinfo";
      return;
    }
    mount_ = *mount;
    top_ = "/kscope-deploy-" + std::to_string(getpid()) + "-" + std::to_string(made++);
    auto now = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    uid_ = hex(getpid(), 8) + "-" + hex(made, 4) + "-4000-8000-" + hex(now, 12);
    container_id_ = hex(now, 16) + hex(getpid(), 16) + hex(made, 16) + hex(0xc0ffee, 16);
    std::string uid_underscores = uid_;
    std::replace(uid_underscores.begin(), uid_underscores.end(), '-', '_');
    cgroup_ = top_ + "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
              uid_underscores + ".slice/cri-containerd-" + container_id_ + ".scope";
    // One level at a time: each made is remembered for the cleanup.
    for (size_t at = 1; at != std::string::npos;) {
      at = cgroup_.find('/', at + 1);
      std::string dir = mount_ + cgroup_.substr(0, at);
      if (mkdir(dir.c_str(), 0755) != 0) {
        ADD_FAILURE() << dir << ": " << strerror(errno);
        return;
      }
      made_.push_back(dir);
    }
    char pods_dir[] = "/tmp/kscope-deploy-pods-XXXXXX";
    if (!mkdtemp(pods_dir)) {
      ADD_FAILURE() << "mkdtemp: " << strerror(errno);
      return;
    }
    pods_dir_ = pods_dir;
    fs::create_directory(pods_dir_ / (namespace_ + "_" + name_ + "_" + uid_));
    ok_ = true;
  }
  ~FakePod() {
    // Deepest first. A cgroup is busy for a moment after its last task is
    // reaped, if ever: retry for a while.
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
      int tries = 0;
      while (rmdir(it->c_str()) != 0 && errno == EBUSY && tries++ < 100)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (access(it->c_str(), F_OK) == 0) ADD_FAILURE() << *it << " not removed";
    }
    if (!pods_dir_.empty()) fs::remove_all(pods_dir_);
  }
  FakePod(const FakePod&) = delete;
  FakePod& operator=(const FakePod&) = delete;

  bool ok() const { return ok_; }
  const std::string& mount() const { return mount_; }
  const std::string& cgroup() const { return cgroup_; }  // relative to the mount: the label
  const std::string& ns() const { return namespace_; }
  const std::string& name() const { return name_; }
  const std::string& uid() const { return uid_; }
  const std::string& container_id() const { return container_id_; }
  const fs::path& pods_dir() const { return pods_dir_; }

  // Moves the calling process into the container's cgroup (in a forked
  // child: "0" is the writer). Async-signal-safe.
  bool enter() const {
    int procs = open((mount_ + cgroup_ + "/cgroup.procs").c_str(), O_WRONLY);
    bool moved = procs >= 0 && write(procs, "0", 1) == 1;
    if (procs >= 0) close(procs);
    return moved;
  }

 private:
  std::string namespace_, name_, mount_, top_, uid_, container_id_, cgroup_;
  std::vector<std::string> made_;
  fs::path pods_dir_;
  bool ok_ = false;
};

// The labels of kscope_cgroup_info for this cgroup in a scrape ("" if none).
std::string info_of(const std::map<std::string, double>& m, const std::string& cgroup) {
  for (const auto& [series, value] : m)
    if (series.starts_with("kscope_cgroup_info{") &&
        series.find("cgroup=\"" + cgroup + "\"") != std::string::npos)
      return series;
  return "";
}

// A kscope.yml: `base` (YAML text) with pods_log_dir replaced.
std::string with_pods_log_dir(const std::string& base, const fs::path& dir) {
  YAML::Node config = base.empty() ? YAML::Node(YAML::NodeType::Map) : YAML::Load(base);
  config["pods_log_dir"] = dir.string();
  YAML::Emitter out;
  out << config;
  return out.c_str();
}

// The DaemonSet's container, as far as one host can play it: root with only
// the added capabilities in its bounding set, no_new_privs
// (allowPrivilegeEscalation: false), a read-only root filesystem, read-only
// tracefs, BTF, cgroup2 tree and pods log directory, the ConfigMap's
// kscope.yml (pods_log_dir aimed at a stand-in for the node's /var/log/pods).
// Every probe attaches, and a workload in a pod's container cgroup is counted
// under that cgroup's name, with the pod's namespace and name on
// kscope_cgroup_info.
TEST(Kubernetes, DaemonSetSecurityContextSufficesForEveryProbe) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: kscope loads BPF programs";
  for (const char* tool : {"/usr/bin/unshare", kSetpriv})
    ASSERT_EQ(access(tool, X_OK), 0) << tool << " missing (util-linux)";
  FakePod pod("kscope-test", "daemonset-" + std::to_string(getpid()));
  ASSERT_TRUE(pod.ok());
  const std::string cgroup = pod.cgroup();

  const YAML::Node sc = container()["securityContext"];
  std::string bounding = "-all";
  for (const auto& cap : strings(sc["capabilities"]["add"])) {
    std::string lower = cap;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    bounding += ",+" + lower;
  }
  std::string config = write_temp(
      with_pods_log_dir(str(manifest("ConfigMap")["data"]["kscope.yml"]), pod.pods_dir()), ".yml");
  // In a private mount namespace: the host's mounts are not touched.
  std::string script = "set -e; for m in / /sys/kernel/tracing /sys/kernel/btf " + pod.mount() +
                       " " + pod.pods_dir().string() +
                       "; do mount --bind $m $m; mount -o remount,bind,ro $m; done; exec " +
                       kSetpriv + " --bounding-set=" + bounding + " --no-new-privs -- " + kBinary +
                       " --web.listen-address=127.0.0.1:0 --config.file=" + config;
  Child k({kSetpriv, "--pdeathsig", "SIGKILL", "--", "/usr/bin/unshare", "--mount", "--propagation",
           "private", "--", "/bin/sh", "-c", script});
  auto port = k.port();
  ASSERT_TRUE(port) << k.log();
  scrape_after_samples(*port, 1);

  constexpr int kOpens = 500;
  pid_t worker = fork();
  if (worker == 0) {
    if (!pod.enter()) _exit(2);
    for (int i = 0; i < kOpens; i++) close(open("/dev/null", O_RDONLY));
    _exit(0);
  }
  int st = -1;
  ASSERT_EQ(waitpid(worker, &st, 0), worker);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;

  const std::string series = "kscope_fd_open_calls_total{cgroup=\"" + cgroup + "\"}";
  std::map<std::string, double> m;
  for (int i = 0; i < 200 && m[series] < kOpens; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    m = parse_metrics(http_get(*port, "/metrics").body);
  }
  for (const auto& module : collector_names())
    EXPECT_EQ(m["kscope_probe_up{probe=\"" + module + "\"}"], 1)
        << module << " with capabilities " << bounding << ":\n"
        << k.log();
  EXPECT_EQ(m[series], kOpens) << "the workload's cgroup, named from the read-only cgroup2 tree\n"
                               << k.log();
  // Its pod, from the read-only pods log directory.
  std::string info = info_of(m, cgroup);
  for (const std::string& label :
       {"namespace=\"" + pod.ns() + "\"", "pod=\"" + pod.name() + "\"",
        "pod_uid=\"" + pod.uid() + "\"", "container_id=\"" + pod.container_id() + "\""})
    EXPECT_NE(info.find(label), std::string::npos) << label << " not in " << info << "\n"
                                                   << k.log();

  std::string status = slurp("/proc/" + std::to_string(k.pid()) + "/status");
  EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos);
  // It ran with no capability beyond the added ones (capability(7) numbers).
  const std::map<std::string, int> kCapBits = {
      {"SYS_ADMIN", 21}, {"SYS_RESOURCE", 24}, {"PERFMON", 38}, {"BPF", 39}};
  uint64_t allowed = 0;
  for (const auto& cap : strings(sc["capabilities"]["add"])) {
    ASSERT_TRUE(kCapBits.count(cap)) << cap;
    allowed |= uint64_t{1} << kCapBits.at(cap);
  }
  auto at = status.find("CapEff:\t");
  ASSERT_NE(at, std::string::npos);
  uint64_t effective = std::stoull(status.substr(at + 8, 16), nullptr, 16);
  EXPECT_EQ(effective & ~allowed, 0u) << std::hex << effective;
  EXPECT_NE(effective & (uint64_t{1} << 39), 0u) << "CAP_BPF";
  EXPECT_EQ(k.stop(), 0) << k.log();
  unlink(config.c_str());
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      char hex[4];
      snprintf(hex, sizeof(hex), "%%%02X", ch);
      out += hex;
    }
  }
  return out;
}

// A Prometheus API answer (JSON, which yaml-cpp reads); null when there is none.
YAML::Node api(int port, const std::string& path_and_query) {
  auto r = http_get(port, path_and_query);
  if (r.status != 200) return YAML::Node();
  try {
    YAML::Node n = YAML::Load(r.body);
    return str(n["status"]) == "success" ? n["data"] : YAML::Node();
  } catch (const YAML::Exception&) {
    return YAML::Node();
  }
}

YAML::Node query(int port, const std::string& promql) {
  return api(port, "/api/v1/query?query=" + url_encode(promql));
}

// The first sample value of an instant query, or -1.
double query_value(int port, const std::string& promql) {
  YAML::Node data = query(port, promql);
  if (!data || data["result"].size() == 0) return -1;
  return std::stod(str(data["result"][0]["value"][1]));
}

// What Grafana would send for a dashboard's expression: a 10s rate window,
// and for each template variable (instance, namespace, pod) its value in
// `values`, or All (".*").
std::string grafana_to_promql(const std::string& expr,
                              const std::map<std::string, std::string>& values = {}) {
  static const std::regex var("\\$\\{(\\w+)\\}|\\$(\\w+)");
  std::string out;
  auto last = expr.cbegin();
  for (std::sregex_iterator it(expr.begin(), expr.end(), var), end; it != end; ++it) {
    const std::smatch& m = *it;
    std::string name = m[1].matched ? m[1].str() : m[2].str();
    out.append(last, m[0].first);
    if (name == "__rate_interval" || name == "__interval") {
      out += "10s";
    } else if (name == "instance" || name == "namespace" || name == "pod") {
      out += values.count(name) ? values.at(name) : ".*";
    } else {
      ADD_FAILURE() << "unknown variable $" << name << " in " << expr;
      out += m[0].str();
    }
    last = m[0].second;
  }
  out.append(last, expr.cend());
  return out;
}

TEST(Dashboards, GrafanaVariablesBecomePromql) {
  EXPECT_EQ(grafana_to_promql("rate(a{instance=~\"$instance\", pod=~\"${pod}\"}[$__rate_interval])",
                              {{"pod", "web-1"}}),
            "rate(a{instance=~\".*\", pod=~\"web-1\"}[10s])");
}

// Opens, reads, writes, a failed open, forks and a thread; in a forked
// child, which exits with 0, or with the number of the step that failed.
[[noreturn]] void workload() {
  std::vector<char> buf(1 << 16);
  for (int i = 0; i < 50; i++) {
    int fd = open("/dev/zero", O_RDONLY);
    if (read(fd, buf.data(), 100 * (i + 1)) < 0) _exit(11);
    close(fd);
    close(open("/nonexistent/kscope-deploy-test", O_RDONLY));
  }
  int null = open("/dev/null", O_WRONLY);
  for (int i = 0; i < 20; i++)
    if (write(null, buf.data(), 1 << (i % 12)) < 0) _exit(12);
  fsync(null);
  close(null);
  for (int i = 0; i < 3; i++) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    waitpid(pid, nullptr, 0);
  }
  std::thread([] {}).join();
  _exit(0);
}

// A config for a throwaway Prometheus, derived from the shipped one: 1s
// scrapes and rule evaluations, the kscope job aimed at `target`, the shipped
// rule files by absolute path, no Alertmanager.
std::string derived_prometheus_config(const std::string& target) {
  YAML::Node cfg = YAML::LoadFile((kPrometheus / "prometheus.yml").string());
  cfg["global"]["scrape_interval"] = "1s";
  cfg["global"]["evaluation_interval"] = "1s";
  cfg.remove("alerting");
  YAML::Node rule_files(YAML::NodeType::Sequence);
  for (const auto& f : cfg["rule_files"]) rule_files.push_back((kPrometheus / str(f)).string());
  cfg["rule_files"] = rule_files;
  int jobs = 0;
  for (auto job : cfg["scrape_configs"]) {
    if (str(job["job_name"]) != "kscope") continue;
    jobs++;
    job["scrape_interval"] = "1s";
    YAML::Node targets(YAML::NodeType::Sequence);
    targets.push_back(target);
    YAML::Node sc;
    sc["targets"] = targets;
    YAML::Node scs(YAML::NodeType::Sequence);
    scs.push_back(sc);
    job["static_configs"] = scs;
  }
  EXPECT_EQ(jobs, 1) << "no kscope job in prometheus.yml";
  YAML::Emitter out;
  out << cfg;
  return out.c_str();
}

TEST(EndToEnd, EveryDashboardQueryAndAlertingRuleWorksInARealPrometheus) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: kscope loads BPF programs";
  ASSERT_EQ(access("/usr/bin/prometheus", X_OK), 0)
      << "Debian's prometheus package is not installed (deploy/debian-packages.txt)";
  ASSERT_EQ(access(kSetpriv, X_OK), 0) << kSetpriv << " missing (util-linux)";
  auto started = std::chrono::steady_clock::now();
  // The workload runs in a pod's container cgroup, and kscope reads the
  // pod's name from its pods_log_dir: kscope_cgroup_info then has namespace
  // and pod, for the workloads dashboard's joins.
  FakePod pod("kscope-test", "workload-" + std::to_string(getpid()));
  ASSERT_TRUE(pod.ok());
  // A zombie in the pod for the zombie panels: a child that moves into the
  // pod's cgroup and exits; reaped at the end, before the cgroup goes.
  struct Reaped {
    pid_t pid;
    ~Reaped() {
      if (pid > 0) waitpid(pid, nullptr, 0);
    }
  } zombie{fork()};
  if (zombie.pid == 0) _exit(pod.enter() ? 0 : 2);
  ASSERT_GT(zombie.pid, 0);
  struct Removed {
    fs::path path;
    ~Removed() {
      std::error_code ec;
      if (!path.empty()) fs::remove_all(path, ec);
    }
  } config{write_temp(with_pods_log_dir("", pod.pods_dir()), ".yml")};
  Child kscope({kSetpriv, "--pdeathsig", "SIGKILL", "--", kBinary,
                "--web.listen-address=127.0.0.1:0", "--config.file=" + config.path.string()});
  auto kport = kscope.port();
  ASSERT_TRUE(kport) << kscope.log();
  std::string target = "127.0.0.1:" + std::to_string(*kport);

  char dir_template[] = "/tmp/kscope-deploy-prom-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  Removed dir_removed{dir_template};  // after Prometheus has stopped
  const fs::path dir = dir_template;
  std::ofstream(dir / "prometheus.yml") << derived_prometheus_config(target);
  int pport = free_port();
  Child prom({kSetpriv, "--pdeathsig", "SIGKILL", "--", "/usr/bin/prometheus",
              "--config.file=" + (dir / "prometheus.yml").string(),
              "--storage.tsdb.path=" + (dir / "data").string(),
              "--web.listen-address=127.0.0.1:" + std::to_string(pport)});

  // up == 1 and at least 10 s of scrapes, with the workload running.
  double up = -1, scrapes = -1;
  while (std::chrono::steady_clock::now() - started < std::chrono::seconds(40)) {
    pid_t worker = fork();
    if (worker == 0) {
      if (!pod.enter()) _exit(10);
      workload();
    }
    int st = -1;
    ASSERT_EQ(waitpid(worker, &st, 0), worker);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "workload in the pod failed: " << st;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    up = query_value(pport, "up{job=\"kscope\"}");
    scrapes = query_value(pport, "count_over_time(up{job=\"kscope\"}[20s])");
    if (up == 1 && scrapes >= 11) break;
  }
  ASSERT_EQ(up, 1) << "Prometheus does not scrape kscope:\n" << prom.log();
  ASSERT_GE(scrapes, 11);

  // The template variables' queries, label_values(<selector>, <label>) as
  // Grafana sends them (All for the variables they use): instance finds the
  // target, namespace and pod find the pod.
  const std::map<std::string, std::string> found = {
      {"instance", target}, {"namespace", pod.ns()}, {"pod", pod.name()}};
  std::set<std::string> variables;
  for (const auto& path : dashboard_files()) {
    for (const auto& v : YAML::LoadFile(path.string())["templating"]["list"]) {
      if (str(v["type"]) != "query") continue;
      std::string definition = str(v["definition"]);
      SCOPED_TRACE(path.filename().string() + ": " + definition);
      static const std::regex label_values("label_values\\((.+), (\\w+)\\)");
      std::smatch m;
      ASSERT_TRUE(std::regex_match(definition, m, label_values));
      std::string label = m[2];
      ASSERT_TRUE(found.count(label)) << label;
      variables.insert(label);
      YAML::Node values = api(pport, "/api/v1/label/" + label +
                                         "/values?match[]=" + url_encode(grafana_to_promql(m[1])));
      if (label == "instance") {
        EXPECT_EQ(strings(values), std::set<std::string>{target});
      } else {
        EXPECT_TRUE(strings(values).count(found.at(label))) << found.at(label) << " not found";
      }
    }
  }
  EXPECT_EQ(variables, (std::set<std::string>{"instance", "namespace", "pod"}));

  // Every expression of every dashboard panel returns at least one series.
  auto queries = dashboard_queries();
  EXPECT_GE(queries.size(), 30u);
  for (const auto& q : queries) {
    std::string promql = grafana_to_promql(q.expr);
    YAML::Node data = query(pport, promql);
    ASSERT_TRUE(data) << q.where << ": Prometheus rejected " << promql;
    EXPECT_GE(data["result"].size(), 1u) << q.where << ": no series for " << promql;
  }

  // The workloads dashboard with the pod picked: only that pod, and its
  // numbers (its one zombie, the bytes its workload read and wrote).
  int pod_queries = 0;
  for (const auto& q : queries) {
    if (!q.where.starts_with("kscope-workloads.json")) continue;
    pod_queries++;
    std::string promql = grafana_to_promql(q.expr, {{"namespace", pod.ns()}, {"pod", pod.name()}});
    YAML::Node data = query(pport, promql);
    ASSERT_TRUE(data) << q.where << ": Prometheus rejected " << promql;
    const YAML::Node result = data["result"];
    EXPECT_EQ(result.size(), 1u) << q.where << ": one series for the pod, " << promql;
    for (const auto& r : result) {
      EXPECT_EQ(str(r["metric"]["namespace"]), pod.ns()) << q.where;
      EXPECT_EQ(str(r["metric"]["pod"]), pod.name()) << q.where;
      double value = std::stod(str(r["value"][1]));
      auto metrics = metric_names(q.expr);
      if (metrics.count("kscope_process_zombies")) {
        EXPECT_EQ(value, 1) << q.where;
      }
      if (metrics.count("kscope_vfs_read_bytes_total") ||
          metrics.count("kscope_vfs_write_bytes_total")) {
        EXPECT_GT(value, 0) << q.where;
      }
      if (metrics == std::set<std::string>{"kscope_cgroup_info"}) {
        EXPECT_EQ(str(r["metric"]["cgroup"]), pod.cgroup());
        EXPECT_EQ(str(r["metric"]["container_id"]), pod.container_id());
        EXPECT_EQ(str(r["metric"]["pod_uid"]), pod.uid());
        EXPECT_EQ(str(r["metric"]["systemd_unit"]),
                  "cri-containerd-" + pod.container_id() + ".scope");
      }
    }
  }
  EXPECT_GE(pod_queries, 6);

  // The shipped rules: every group loaded, every rule evaluated healthy.
  std::set<std::string> groups_in_file;
  for (const auto& g : YAML::LoadFile((kPrometheus / "kscope-rules.yml").string())["groups"])
    groups_in_file.insert(str(g["name"]));
  std::set<std::string> loaded, healthy_rules;
  std::string unhealthy;
  for (int i = 0; i < 100; i++) {
    loaded.clear();
    healthy_rules.clear();
    unhealthy.clear();
    for (const auto& g : api(pport, "/api/v1/rules")["groups"]) {
      loaded.insert(str(g["name"]));
      for (const auto& r : g["rules"]) {
        if (str(r["health"]) == "ok")
          healthy_rules.insert(str(r["name"]));
        else
          unhealthy += str(r["name"]) + ": " + str(r["health"]) + " " + str(r["lastError"]) + "\n";
      }
    }
    if (loaded == groups_in_file && healthy_rules == kAlerts) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(loaded, groups_in_file);
  EXPECT_EQ(healthy_rules, kAlerts) << unhealthy;

  EXPECT_EQ(prom.stop(), 0) << prom.log();
  EXPECT_EQ(kscope.stop(), 0) << kscope.log();
  int st = -1;
  EXPECT_EQ(waitpid(zombie.pid, &st, 0), zombie.pid);
  zombie.pid = -1;
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "the zombie did not enter the pod";
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(60));
}

}  // namespace
}  // namespace kscope::test
