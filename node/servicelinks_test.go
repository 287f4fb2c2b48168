package node

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestServiceLinks checks the variables against the kubelet's for a
// Service "my-web" with a named TCP port and a UDP port: the container's
// own names win, $(NAME) sees the service variables, and other
// namespaces, headless Services and enableServiceLinks: false give none.
func TestServiceLinks(t *testing.T) {
	services := []corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "my-web"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}, {Name: "dns-udp", Port: 53, Protocol: corev1.ProtocolUDP}}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.11", Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db"}, Spec: corev1.ServiceSpec{ClusterIP: "None"}},
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p"}}
	c := &corev1.Container{Env: []corev1.EnvVar{
		{Name: "URL", Value: "http://$(MY_WEB_SERVICE_HOST):$(MY_WEB_SERVICE_PORT_HTTP)/"},
		{Name: "MY_WEB_SERVICE_PORT", Value: "mine"},
	}}
	env, err := resolveEnv(pod, c, testConfig(), nodeInfo{services: services})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"URL=http://10.96.0.10:80/",
		"MY_WEB_SERVICE_PORT=mine",
		"MY_WEB_PORT=tcp://10.96.0.10:80",
		"MY_WEB_PORT_53_UDP=udp://10.96.0.10:53",
		"MY_WEB_PORT_53_UDP_ADDR=10.96.0.10",
		"MY_WEB_PORT_53_UDP_PORT=53",
		"MY_WEB_PORT_53_UDP_PROTO=udp",
		"MY_WEB_PORT_80_TCP=tcp://10.96.0.10:80",
		"MY_WEB_PORT_80_TCP_ADDR=10.96.0.10",
		"MY_WEB_PORT_80_TCP_PORT=80",
		"MY_WEB_PORT_80_TCP_PROTO=tcp",
		"MY_WEB_SERVICE_HOST=10.96.0.10",
		"MY_WEB_SERVICE_PORT_DNS_UDP=53",
		"MY_WEB_SERVICE_PORT_HTTP=80",
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env:\n%q\nwant:\n%q", env, want)
	}
	off := false
	pod.Spec.EnableServiceLinks = &off
	if env, _ := resolveEnv(pod, &corev1.Container{}, testConfig(), nodeInfo{services: services}); len(env) != 0 {
		t.Errorf("enableServiceLinks false: %q", env)
	}
}
