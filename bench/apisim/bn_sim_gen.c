/* Cluster generator and churn: see bn_sim_gen.h. The templates follow what
 * kubelet, the scheduler and the controllers write on a real cluster, so
 * that LIST and watch bytes are realistic. */
#include "bn_sim_gen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "px_err.h"

#define TEAMS 8

static const char pod_tpl[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
    "\"generateName\":\"%s-\",\"labels\":{\"app\":\"%s\",\"%s\":\"%s\",\"tier\":\"%s\"},"
    "\"annotations\":{\"kubectl.kubernetes.io/default-container\":\"main\","
    "\"prometheus.io/scrape\":\"true\",\"prometheus.io/port\":\"9102\"},"
    "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"%s\",\"name\":\"%s\","
    "\"uid\":\"6f1e2d3c-4b5a-4978-8c6d-%012" PRIx64 "\",\"controller\":true,"
    "\"blockOwnerDeletion\":true}],"
    "\"managedFields\":[{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\","
    "\"apiVersion\":\"v1\",\"time\":\"%s\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":"
    "{\"f:metadata\":{\"f:generateName\":{},\"f:labels\":{\".\":{},\"f:app\":{},\"f:tier\":{}},"
    "\"f:ownerReferences\":{\".\":{},\"k:{\\\"uid\\\":\\\"6f1e2d3c\\\"}\":{}}},\"f:spec\":"
    "{\"f:containers\":{\"k:{\\\"name\\\":\\\"main\\\"}\":{\".\":{},\"f:env\":{},\"f:image\":{},"
    "\"f:imagePullPolicy\":{},\"f:livenessProbe\":{},\"f:name\":{},\"f:ports\":{},"
    "\"f:readinessProbe\":{},\"f:resources\":{},\"f:volumeMounts\":{}}},\"f:dnsPolicy\":{},"
    "\"f:enableServiceLinks\":{},\"f:restartPolicy\":{},\"f:schedulerName\":{},"
    "\"f:securityContext\":{},\"f:terminationGracePeriodSeconds\":{},\"f:volumes\":{}}}},"
    "{\"manager\":\"kubelet\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\"%s\","
    "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status\":{\"f:conditions\":{},"
    "\"f:containerStatuses\":{},\"f:hostIP\":{},\"f:hostIPs\":{},\"f:phase\":{},\"f:podIP\":{},"
    "\"f:podIPs\":{},\"f:startTime\":{}}},\"subresource\":\"status\"}]},"
    "\"spec\":{\"volumes\":[{\"name\":\"config\",\"configMap\":{\"name\":\"%s-config\","
    "\"defaultMode\":420}},{\"name\":\"kube-api-access-%s\",\"projected\":{\"sources\":["
    "{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}},"
    "{\"configMap\":{\"name\":\"kube-root-ca.crt\",\"items\":[{\"key\":\"ca.crt\","
    "\"path\":\"ca.crt\"}]}},{\"downwardAPI\":{\"items\":[{\"path\":\"namespace\",\"fieldRef\":"
    "{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}]}}],\"defaultMode\":420}}],"
    "\"containers\":[{\"name\":\"main\",\"image\":\"registry.example.com/%s:1.27.3\","
    "\"ports\":[{\"name\":\"http\",\"containerPort\":8080,\"protocol\":\"TCP\"},{\"name\":"
    "\"metrics\",\"containerPort\":9102,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"NODE_NAME\","
    "\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"spec.nodeName\"}}},"
    "{\"name\":\"POD_NAME\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":"
    "\"metadata.name\"}}},{\"name\":\"LOG_LEVEL\",\"value\":\"info\"},{\"name\":\"GOMAXPROCS\","
    "\"value\":\"2\"}],\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"256Mi\"},"
    "\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}},\"volumeMounts\":[{\"name\":\"config\","
    "\"mountPath\":\"/etc/%s\"},{\"name\":\"kube-api-access-%s\",\"readOnly\":true,\"mountPath\":"
    "\"/var/run/secrets/kubernetes.io/serviceaccount\"}],\"livenessProbe\":{\"httpGet\":{\"path\":"
    "\"/healthz\",\"port\":8080,\"scheme\":\"HTTP\"},\"initialDelaySeconds\":10,"
    "\"timeoutSeconds\":1,\"periodSeconds\":10,\"successThreshold\":1,\"failureThreshold\":3},"
    "\"readinessProbe\":{\"httpGet\":{\"path\":\"/ready\",\"port\":8080,\"scheme\":\"HTTP\"},"
    "\"timeoutSeconds\":1,\"periodSeconds\":5,\"successThreshold\":1,\"failureThreshold\":3},"
    "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\","
    "\"imagePullPolicy\":\"IfNotPresent\"}],\"restartPolicy\":\"Always\","
    "\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\","
    "\"serviceAccountName\":\"%s\",\"serviceAccount\":\"%s\",\"nodeName\":\"%s\","
    "\"securityContext\":{},\"schedulerName\":\"default-scheduler\",\"tolerations\":["
    "{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\","
    "\"tolerationSeconds\":300},{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":"
    "\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],\"priority\":0,"
    "\"enableServiceLinks\":true,\"preemptionPolicy\":\"PreemptLowerPriority\"},"
    "\"status\":{\"phase\":\"Running\",\"conditions\":[%s],\"hostIP\":\"%s\",\"hostIPs\":"
    "[{\"ip\":\"%s\"}],\"podIP\":\"%s\",\"podIPs\":[{\"ip\":\"%s\"}],\"startTime\":\"%s\","
    "\"containerStatuses\":[{\"name\":\"main\",\"state\":{\"running\":{\"startedAt\":\"%s\"}},"
    "\"lastState\":{},\"ready\":true,\"restartCount\":0,\"image\":"
    "\"registry.example.com/%s:1.27.3\",\"imageID\":\"registry.example.com/%s@sha256:"
    "4f2d7e3a9c1b8d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e\",\"containerID\":"
    "\"containerd://%016" PRIx64 "%016" PRIx64 "\",\"started\":true}],\"qosClass\":\"Burstable\"}}";

static const char cond_tpl[] =
    "{\"type\":\"PodReadyToStartContainers\",\"status\":\"True\",\"lastProbeTime\":%s,"
    "\"lastTransitionTime\":\"%s\"},{\"type\":\"Initialized\",\"status\":\"True\","
    "\"lastProbeTime\":%s,\"lastTransitionTime\":\"%s\"},{\"type\":\"Ready\",\"status\":\"True\","
    "\"lastProbeTime\":%s,\"lastTransitionTime\":\"%s\"},{\"type\":\"ContainersReady\","
    "\"status\":\"True\",\"lastProbeTime\":%s,\"lastTransitionTime\":\"%s\"},{\"type\":"
    "\"PodScheduled\",\"status\":\"True\",\"lastProbeTime\":%s,\"lastTransitionTime\":\"%s\"}";

static const char node_tpl[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"labels\":{"
    "\"beta.kubernetes.io/arch\":\"amd64\",\"beta.kubernetes.io/os\":\"linux\","
    "\"kubernetes.io/arch\":\"amd64\",\"kubernetes.io/hostname\":\"%s\",\"kubernetes.io/os\":"
    "\"linux\",\"node.kubernetes.io/instance-type\":\"m5.xlarge\",\"topology.kubernetes.io/"
    "region\":\"eu-west-1\",\"topology.kubernetes.io/zone\":\"eu-west-1%c\"},\"annotations\":{"
    "\"node.alpha.kubernetes.io/ttl\":\"0\",\"volumes.kubernetes.io/controller-managed-attach-"
    "detach\":\"true\"}},\"spec\":{\"podCIDR\":\"10.%u.%u.0/24\",\"podCIDRs\":[\"10.%u.%u.0/24\"],"
    "\"providerID\":\"aws:///eu-west-1%c/i-%016" PRIx64 "\"},\"status\":{\"capacity\":{\"cpu\":"
    "\"4\",\"ephemeral-storage\":\"104845292Ki\",\"hugepages-1Gi\":\"0\",\"hugepages-2Mi\":\"0\","
    "\"memory\":\"16069496Ki\",\"pods\":\"110\"},\"allocatable\":{\"cpu\":\"3920m\","
    "\"ephemeral-storage\":\"95551679124\",\"hugepages-1Gi\":\"0\",\"hugepages-2Mi\":\"0\","
    "\"memory\":\"15052664Ki\",\"pods\":\"110\"},\"conditions\":[{\"type\":\"MemoryPressure\","
    "\"status\":\"False\",\"lastHeartbeatTime\":\"%s\",\"lastTransitionTime\":\"%s\",\"reason\":"
    "\"KubeletHasSufficientMemory\",\"message\":\"kubelet has sufficient memory available\"},"
    "{\"type\":\"DiskPressure\",\"status\":\"False\",\"lastHeartbeatTime\":\"%s\","
    "\"lastTransitionTime\":\"%s\",\"reason\":\"KubeletHasNoDiskPressure\",\"message\":"
    "\"kubelet has no disk pressure\"},{\"type\":\"PIDPressure\",\"status\":\"False\","
    "\"lastHeartbeatTime\":\"%s\",\"lastTransitionTime\":\"%s\",\"reason\":"
    "\"KubeletHasSufficientPID\",\"message\":\"kubelet has sufficient PID available\"},{\"type\":"
    "\"Ready\",\"status\":\"True\",\"lastHeartbeatTime\":\"%s\",\"lastTransitionTime\":\"%s\","
    "\"reason\":\"KubeletReady\",\"message\":\"kubelet is posting ready status\"}],\"addresses\":"
    "[{\"type\":\"InternalIP\",\"address\":\"%s\"},{\"type\":\"Hostname\",\"address\":\"%s\"}],"
    "\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":10250}},\"nodeInfo\":{\"machineID\":"
    "\"%016" PRIx64 "\",\"systemUUID\":\"ec2%013" PRIx64 "\",\"bootID\":\"%016" PRIx64 "\","
    "\"kernelVersion\":\"6.1.0-18-cloud-amd64\",\"osImage\":\"Debian GNU/Linux 12 (bookworm)\","
    "\"containerRuntimeVersion\":\"containerd://1.7.13\",\"kubeletVersion\":\"v1.32.0\","
    "\"kubeProxyVersion\":\"v1.32.0\",\"operatingSystem\":\"linux\",\"architecture\":\"amd64\"}}}";

static uint64_t
mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Five of kube's name characters, a bijection of <n> < 27^5: generated
 * names never collide (random ones would, at a few thousand nodes). */
static void
suffix(uint64_t n, char out[8])
{
    static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
    uint64_t v = (n * 7919 + 12345) % 14348907ull;
    int i;

    for (i = 4; i >= 0; i--) {
        out[i] = alnum[v % 27];
        v /= 27;
    }
    out[5] = '\0';
}

static void
stamp(int64_t s, char out[32])
{
    time_t t = (time_t)s;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
bn_sim_gen_node_name(uint64_t i, char *out, size_t len)
{
    snprintf(out, len, "node-%05" PRIu64, i);
}

static void
host_ip(uint64_t i, char out[20])
{
    snprintf(out, 20, "10.0.%u.%u", (unsigned)(i / 250), (unsigned)(i % 250 + 2));
}

static int
create(struct bn_sim_store *s, enum bn_sim_res r, const char *ns, const char *json, int64_t now_s,
       char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_loads(json, 0, &jerr);
    struct bn_sim_status st;
    struct bn_sim_obj *o;
    int rc;

    if (doc == NULL) {
        px_errf(err, errlen, "generator template: %s at %d", jerr.text, jerr.position);
        return -1;
    }
    rc = bn_sim_store_create(s, r, ns, doc, now_s, &o, &st);
    json_decref(doc);
    if (rc != 0) {
        px_errf(err, errlen, "generate %s: %s", bn_sim_resdef(r)->name, st.message);
    }
    return rc;
}

static void
conditions(int64_t probe_s, const char *since, char *out, size_t len)
{
    char probe[40];

    if (probe_s == 0) {
        snprintf(probe, sizeof(probe), "null");
    } else {
        char t[32];

        stamp(probe_s, t);
        snprintf(probe, sizeof(probe), "\"%s\"", t);
    }
    snprintf(out, len, cond_tpl, probe, since, probe, since, probe, since, probe, since, probe,
             since);
}

/* Pod <k> of node <i>: k == 0 is the node's DaemonSet pod (kube-system),
 * the others belong to Deployments in the team namespaces. */
static int
make_pod(struct bn_sim_store *s, uint64_t i, uint64_t k, int64_t now_s, char *buf, size_t len,
         char *err, size_t errlen)
{
    char node[32], name[96], ns[32], app[32], owner[64], hip[20], pip[20], t[32], cond[2048];
    char sfx[8], hash[16];
    uint64_t h = mix(i * 1000003 + k), id = i * 1000 + k;
    bool ds = k == 0;

    bn_sim_gen_node_name(i, node, sizeof(node));
    host_ip(i, hip);
    snprintf(pip, sizeof(pip), "10.%u.%u.%u", (unsigned)(1 + i / 250 % 250), (unsigned)(i % 250),
             (unsigned)(k % 250 + 2));
    suffix(ds ? i : k, sfx);
    if (ds) {
        snprintf(ns, sizeof(ns), "kube-system");
        snprintf(app, sizeof(app), "node-agent");
        snprintf(owner, sizeof(owner), "node-agent");
        snprintf(hash, sizeof(hash), "6d4f8b7c9");
        snprintf(name, sizeof(name), "node-agent-%s", sfx);
    } else {
        snprintf(ns, sizeof(ns), "team-%" PRIu64, id % TEAMS);
        snprintf(app, sizeof(app), "svc-%" PRIu64, (id / TEAMS) % 16);
        snprintf(hash, sizeof(hash), "%08" PRIx64,
                 (uint64_t)(mix(id % TEAMS * 16 + (id / TEAMS) % 16) & 0xffffffffull));
        snprintf(owner, sizeof(owner), "%s-%s", app, hash);
        snprintf(name, sizeof(name), "%s-%s-%" PRIu64 "-%s", app, hash, i, sfx);
    }
    stamp(now_s - 86400 + (int64_t)(h % 3600), t);
    conditions(0, t, cond, sizeof(cond));
    if ((size_t)snprintf(buf, len, pod_tpl, name, owner, app,
                         ds ? "controller-revision-hash" : "pod-template-hash", hash,
                         ds ? "system" : "web", ds ? "DaemonSet" : "ReplicaSet", owner,
                         (uint64_t)(mix(h) & 0xffffffffffffull), t, t, app, sfx, app, app, sfx,
                         ds ? "node-agent" : "default", ds ? "node-agent" : "default", node, cond,
                         hip, hip, pip, pip, t, t, app, app, mix(h + 1), mix(h + 2)) >= len) {
        px_errf(err, errlen, "pod template does not fit");
        return -1;
    }
    return create(s, BN_SIM_RES_PODS, ns, buf, now_s, err, errlen);
}

static int
make_node(struct bn_sim_store *s, uint64_t i, int64_t now_s, char *buf, size_t len, char *err,
          size_t errlen)
{
    char node[32], hip[20], t[32], since[32];
    char zone = (char)('a' + i % 3);
    uint64_t h = mix(i + 77);

    bn_sim_gen_node_name(i, node, sizeof(node));
    host_ip(i, hip);
    stamp(now_s, t);
    stamp(now_s - 86400 * 7, since);
    snprintf(buf, len, node_tpl, node, node, zone, (unsigned)(1 + i / 250 % 250),
             (unsigned)(i % 250), (unsigned)(1 + i / 250 % 250), (unsigned)(i % 250), zone, h, t,
             since, t, since, t, since, t, since, hip, node, mix(h),
             (uint64_t)(mix(h + 1) & 0xfffffffffffffull), mix(h + 2));
    if (create(s, BN_SIM_RES_NODES, "", buf, now_s, err, errlen) != 0) {
        return -1;
    }
    snprintf(buf, len,
             "{\"metadata\":{\"name\":\"%s\",\"ownerReferences\":[{\"apiVersion\":\"v1\","
             "\"kind\":\"Node\",\"name\":\"%s\",\"uid\":\"%016" PRIx64 "\"}]},\"spec\":{"
             "\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":40,\"renewTime\":"
             "\"%.19s.000000Z\"}}",
             node, node, h, node, t);
    return create(s, BN_SIM_RES_LEASES, "kube-node-lease", buf, now_s, err, errlen);
}

static int
make_namespaces(struct bn_sim_store *s, int64_t now_s, char *buf, size_t len, char *err,
                size_t errlen)
{
    static const char *const fixed[] = {"default", "kube-system", "kube-public", "kube-node-lease"};
    char name[32];
    size_t i;

    for (i = 0; i < 4 + TEAMS; i++) {
        if (i < 4) {
            snprintf(name, sizeof(name), "%s", fixed[i]);
        } else {
            snprintf(name, sizeof(name), "team-%zu", i - 4);
        }
        snprintf(buf, len,
                 "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"kubernetes.io/metadata.name\":"
                 "\"%s\"}}}",
                 name, name);
        if (create(s, BN_SIM_RES_NAMESPACES, "", buf, now_s, err, errlen) != 0) {
            return -1;
        }
        /* the root CA configmap every namespace gets from kube-controller-manager */
        snprintf(buf, len,
                 "{\"metadata\":{\"name\":\"kube-root-ca.crt\",\"annotations\":{"
                 "\"kubernetes.io/description\":\"Contains a CA bundle that can be used to "
                 "verify the kube-apiserver when using internal endpoints such as the internal "
                 "service IP or kubernetes.default.svc. No other usage is guaranteed across "
                 "distributions of Kubernetes clusters.\"}},\"data\":{\"ca.crt\":\"-----BEGIN "
                 "CERTIFICATE-----\\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2"
                 "VydmVyLWNhQDE3MDAwMDAwMDAwHhcNMjMxMTE0MjIxMzIwWhcNMzMxMTExMjIxMzIwWjAjMSEwHwYD"
                 "\\n-----END CERTIFICATE-----\\n\"}}");
        if (create(s, BN_SIM_RES_CONFIGMAPS, name, buf, now_s, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
make_services(struct bn_sim_store *s, int64_t now_s, char *buf, size_t len, char *err,
              size_t errlen)
{
    char ns[32];
    unsigned t, a;

    snprintf(buf, len,
             "{\"metadata\":{\"name\":\"kubernetes\",\"labels\":{\"component\":\"apiserver\","
             "\"provider\":\"kubernetes\"}},\"spec\":{\"clusterIP\":\"10.96.0.1\",\"clusterIPs\":"
             "[\"10.96.0.1\"],\"ports\":[{\"name\":\"https\",\"port\":443,\"protocol\":\"TCP\","
             "\"targetPort\":6443}],\"type\":\"ClusterIP\",\"sessionAffinity\":\"None\"}}");
    if (create(s, BN_SIM_RES_SERVICES, "default", buf, now_s, err, errlen) != 0) {
        return -1;
    }
    for (t = 0; t < TEAMS; t++) {
        snprintf(ns, sizeof(ns), "team-%u", t);
        for (a = 0; a < 16; a++) {
            snprintf(buf, len,
                     "{\"metadata\":{\"name\":\"svc-%u\",\"labels\":{\"app\":\"svc-%u\"}},"
                     "\"spec\":{\"selector\":{\"app\":\"svc-%u\"},\"clusterIP\":\"10.96.%u.%u\","
                     "\"clusterIPs\":[\"10.96.%u.%u\"],\"ports\":[{\"name\":\"http\",\"port\":80,"
                     "\"protocol\":\"TCP\",\"targetPort\":8080}],\"type\":\"ClusterIP\","
                     "\"sessionAffinity\":\"None\",\"ipFamilies\":[\"IPv4\"]}}",
                     a, a, a, t + 1, a + 10, t + 1, a + 10);
            if (create(s, BN_SIM_RES_SERVICES, ns, buf, now_s, err, errlen) != 0) {
                return -1;
            }
            snprintf(buf, len,
                     "{\"metadata\":{\"name\":\"svc-%u\",\"labels\":{\"app\":\"svc-%u\"}},"
                     "\"subsets\":[{\"addresses\":[{\"ip\":\"10.1.%u.%u\"}],\"ports\":[{\"name\":"
                     "\"http\",\"port\":8080,\"protocol\":\"TCP\"}]}]}",
                     a, a, t, a + 2);
            if (create(s, BN_SIM_RES_ENDPOINTS, ns, buf, now_s, err, errlen) != 0) {
                return -1;
            }
            snprintf(
                buf, len,
                "{\"metadata\":{\"name\":\"svc-%u-config\",\"labels\":{\"app\":\"svc-%u\"}},"
                "\"data\":{\"config.yaml\":\"listen: :8080\\nmetrics: :9102\\nlog: info\\n\"}}",
                a, a);
            if (create(s, BN_SIM_RES_CONFIGMAPS, ns, buf, now_s, err, errlen) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

int
bn_sim_gen_cluster(struct bn_sim_store *s, const struct bn_sim_gen_opts *o, char *err,
                   size_t errlen)
{
    size_t len = 16384;
    char *buf = malloc(len);
    uint64_t i, k;
    int rc = -1;

    if (buf == NULL) {
        px_errf(err, errlen, "out of memory");
        return -1;
    }
    if (make_namespaces(s, o->now_s, buf, len, err, errlen) != 0 ||
        make_services(s, o->now_s, buf, len, err, errlen) != 0) {
        goto done;
    }
    for (i = 0; i < o->nodes; i++) {
        if (make_node(s, i, o->now_s, buf, len, err, errlen) != 0) {
            goto done;
        }
        for (k = 0; k < o->pods_per_node; k++) {
            if (make_pod(s, i, k, o->now_s, buf, len, err, errlen) != 0) {
                goto done;
            }
        }
    }
    rc = 0;

done:
    free(buf);
    return rc;
}

size_t
bn_sim_gen_churn(struct bn_sim_store *s, uint64_t *rng, size_t n, int64_t now_s)
{
    size_t pods = bn_sim_store_count(s, BN_SIM_RES_PODS, "");
    char since[32], cond[2048], patch[3072];
    size_t i, written = 0;

    if (pods == 0) {
        return 0;
    }
    stamp(now_s - 86400, since);
    conditions(now_s, since, cond, sizeof(cond));
    for (i = 0; i < n; i++) {
        struct bn_sim_obj *pod, *out;
        struct bn_sim_status st;
        int len;

        *rng = mix(*rng + 0x9e3779b97f4a7c15ull);
        pod = bn_sim_store_nth(s, BN_SIM_RES_PODS, *rng % pods);
        len = snprintf(patch, sizeof(patch),
                       "{\"metadata\":{\"annotations\":{\"floodgate.dev/heartbeat\":\"%" PRIu64
                       "\"}},\"status\":{\"conditions\":[%s]}}",
                       *rng % 1000000, cond);
        if (pod != NULL && len > 0 && (size_t)len < sizeof(patch) &&
            bn_sim_store_patch(s, BN_SIM_RES_PODS, pod->ns, pod->name, patch, (size_t)len, &out,
                               &st) == 0) {
            written++;
        }
    }
    return written;
}
