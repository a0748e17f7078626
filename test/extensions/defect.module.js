// An extension module with a defect, for the test that an unhandled promise rejection ends the controller with
// a fatal log line and exit 1: a promise it leaves unobserved rejects once the controller runs.
import { Module } from '@nestjs/common';

export default class DefectModule {
  onApplicationBootstrap() {
    setTimeout(() => Promise.reject(new Error('defect in an extension')), 300);
  }
}
Module({})(DefectModule);
