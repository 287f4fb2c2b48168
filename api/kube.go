package api

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func objectMeta(name string, labels map[string]string, created time.Time) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: labels, CreationTimestamp: metaTime(created)}
}

func metaTime(t time.Time) metav1.Time { return metav1.NewTime(t) }
